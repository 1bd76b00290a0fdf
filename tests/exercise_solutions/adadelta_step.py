import torch


def adadelta_step(w, grad, s, dx, rho, eps):
    s = rho * s + (1 - rho) * grad * grad
    step = torch.sqrt(dx + eps) / torch.sqrt(s + eps) * grad
    dx = rho * dx + (1 - rho) * step * step
    return w - step, s, dx
