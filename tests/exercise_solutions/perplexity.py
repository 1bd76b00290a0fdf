import torch


def perplexity(logits, targets):
    log_p = torch.log_softmax(logits, dim=-1)
    picked = torch.gather(log_p, -1, targets.unsqueeze(-1))
    return torch.exp(-picked.mean())
