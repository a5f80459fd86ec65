"""The function of the example sweep: a damped oscillator's amplitude at
time t, for a damping ratio zeta (params: the frequency w)."""

import math


def amplitude(params, point):
    w, zeta, t = params["w"], point["zeta"], point["t"]
    if zeta >= 1:
        return math.exp(-w * t) * (1 + w * t)  # (over)critically damped
    wd = w * math.sqrt(1 - zeta * zeta)
    return math.exp(-zeta * w * t) * math.cos(wd * t)
