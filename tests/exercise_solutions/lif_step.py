import math

import torch


def lif_step(v, current, dt, tau_m, resistance, v_rest, threshold, v_reset):
    v_inf = v_rest + resistance * current
    v = v_inf + (v - v_inf) * math.exp(-dt / tau_m)
    spikes = v >= threshold
    v = torch.where(spikes, torch.full_like(v, v_reset), v)
    return v, spikes
