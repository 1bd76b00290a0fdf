import torch


def rmsprop_step(w, grad, v, lr, gamma, eps):
    v = gamma * v + (1 - gamma) * grad**2
    return w - lr * grad / (torch.sqrt(v) + eps), v
