import torch


def lstm_step(x, h, c, w_ih, w_hh, b):
    z = x @ w_ih.T + h @ w_hh.T + b
    size = h.shape[1]
    i = torch.sigmoid(z[:, :size])
    f = torch.sigmoid(z[:, size : 2 * size])
    g = torch.tanh(z[:, 2 * size : 3 * size])
    o = torch.sigmoid(z[:, 3 * size :])
    c_new = f * c + i * g
    return o * torch.tanh(c_new), c_new
