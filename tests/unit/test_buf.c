#include "tap.h"
#include <coren/buf.h>
#include <stdlib.h>

int main(void)
{
	struct coren_buf b;
	size_t len;
	char *s;
	int i;

	coren_buf_init(&b, 10);
	is_int(coren_buf_append(&b, "hello", 5), COREN_OK, "append within cap");
	is_str(b.data, "hello", "data is NUL-terminated");
	is_int(coren_buf_printf(&b, "%d", 1234), COREN_OK, "printf within cap");
	is_str(b.data, "hello1234", "printf appends");
	is_int(coren_buf_putc(&b, '!'), COREN_OK, "putc reaches the cap exactly");
	is_int(coren_buf_putc(&b, '?'), COREN_ERR_TOOLONG, "one past the cap is TOOLONG");
	is_int(coren_buf_printf(&b, "x"), COREN_ERR_TOOLONG, "printf past the cap is TOOLONG");
	is_int((int)b.len, 10, "a refused append changes nothing");
	coren_buf_reset(&b);
	is_int((int)b.len, 0, "reset empties");
	is_str(b.data, "", "reset leaves an empty string");
	coren_buf_release(&b);

	coren_buf_init(&b, 0);
	for (i = 0; i < 100000; i++)
		if (coren_buf_putc(&b, 'a' + i % 26))
			break;
	is_int((int)b.len, 100000, "grows past many reallocations");
	ok(b.data[99999] == 'a' + 99999 % 26, "content survives growth");
	s = coren_buf_detach(&b, &len);
	ok(s && len == 100000 && b.data == NULL && b.len == 0, "detach hands over the data");
	free(s);
	s = coren_buf_detach(&b, &len);
	ok(s && *s == '\0' && len == 0, "detach of an empty buffer gives \"\"");
	free(s);
	coren_buf_release(&b);
	return done_testing();
}
