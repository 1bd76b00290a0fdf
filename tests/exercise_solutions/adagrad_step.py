import torch


def adagrad_step(w, grad, alpha, lr, eps):
    alpha = alpha + grad**2
    return w - lr / (torch.sqrt(alpha) + eps) * grad, alpha
