import math

import torch


def bilinear_sample(image, grid, align_corners):
    n, c, h, w = image.shape
    _, ho, wo, _ = grid.shape
    out = torch.zeros(n, c, ho, wo, dtype=image.dtype)
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                gx, gy = float(grid[b, i, j, 0]), float(grid[b, i, j, 1])
                if align_corners:
                    x, y = (gx + 1) / 2 * (w - 1), (gy + 1) / 2 * (h - 1)
                else:
                    x, y = ((gx + 1) * w - 1) / 2, ((gy + 1) * h - 1) / 2
                x0, y0 = math.floor(x), math.floor(y)
                for xk in (x0, x0 + 1):
                    for yk in (y0, y0 + 1):
                        if 0 <= xk < w and 0 <= yk < h:
                            weight = (1 - abs(x - xk)) * (1 - abs(y - yk))
                            out[b, :, i, j] += image[b, :, yk, xk] * weight
    return out
