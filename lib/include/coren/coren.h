/* coren/coren.h - every public header of libcoren. */
#ifndef COREN_COREN_H
#define COREN_COREN_H

#include <coren/buf.h>
#include <coren/cap.h>
#include <coren/cost.h>
#include <coren/error.h>
#include <coren/file.h>
#include <coren/hash.h>
#include <coren/json.h>
#include <coren/log.h>
#include <coren/plugin.h>
#include <coren/progress.h>
#include <coren/record.h>
#include <coren/settings.h>
#include <coren/sign.h>
#include <coren/table.h>
#include <coren/units.h>
#include <coren/verdict.h>
#include <coren/version.h>
#include <coren/yaml.h>

#endif
