def gd_step(w, grad, lr):
    return w - lr * grad
