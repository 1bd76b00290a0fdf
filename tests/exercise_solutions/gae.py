import torch


def gae(rewards, values, starts, next_value, next_start, gamma, lam):
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(steps)):
        if t == steps - 1:
            not_done, v_next = 1 - next_start, next_value
        else:
            not_done, v_next = 1 - starts[t + 1], values[t + 1]
        delta = rewards[t] + gamma * not_done * v_next - values[t]
        last = delta + gamma * lam * not_done * last
        advantages[t] = last
    return advantages
