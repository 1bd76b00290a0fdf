def q_update(q, s, a, r, s_next, terminated, alpha, gamma):
    q = q.clone()
    target = r if terminated else r + gamma * q[s_next].max()
    q[s, a] = q[s, a] + alpha * (target - q[s, a])
    return q
