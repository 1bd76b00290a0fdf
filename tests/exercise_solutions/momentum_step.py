def momentum_step(w, grad, b, lr, beta):
    b = beta * b + grad
    return w - lr * b, b
