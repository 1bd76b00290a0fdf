import torch


def affine_grid(theta, height, width, align_corners):
    def coordinates(n):
        if align_corners:
            return torch.linspace(-1, 1, n, dtype=theta.dtype) if n > 1 else torch.zeros(1, dtype=theta.dtype)
        return (torch.arange(n, dtype=theta.dtype) * 2 + 1) / n - 1

    y, x = torch.meshgrid(coordinates(height), coordinates(width), indexing="ij")
    points = torch.stack([x, y, torch.ones_like(x)], dim=-1)  # (H, W, 3)
    return points @ theta.transpose(1, 2).unsqueeze(1)  # (N, 1, 3, 2) -> (N, H, W, 2)
