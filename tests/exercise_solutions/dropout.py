def dropout(x, keep, u, training):
    if not training:
        return x
    return x * (u < keep).to(x.dtype) / keep
