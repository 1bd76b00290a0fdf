"""Exercises of chapter 7: the tabular Q-learning update, discounted returns, and generalized advantage
estimates.

The references are :func:`descentlab.rl.qlearning.q_update` (the update the Q-learning agent makes),
:func:`descentlab.rl.reinforce.discounted_returns` (REINFORCE's) and :func:`descentlab.rl.ppo.gae` (PPO's).
"""

from __future__ import annotations

import torch
from torch import Tensor

from descentlab.exercises.cases import DTYPES, dtype_name, integer, pick, randn
from descentlab.exercises.core import Case, Exercise, Mistake
from descentlab.rl.ppo import gae as library_gae
from descentlab.rl.qlearning import q_update as library_q_update
from descentlab.rl.reinforce import discounted_returns as library_returns

SECTION = "chapter-rl"


# ---- tabular Q-learning -----------------------------------------------------------------------------------


def q_update(q: Tensor, s: int, a: int, r: float, s_next: int, terminated: bool, alpha: float, gamma: float) -> Tensor:
    q = q.clone()
    library_q_update(q[s], a, r, q[s_next], terminated, alpha, gamma)
    return q


def _q(
    q: Tensor,
    s: int,
    a: int,
    r: float,
    s_next: int,
    terminated: bool,
    alpha: float,
    gamma: float,
    *,
    bootstrap_terminal: bool = False,
    sarsa: bool = False,
    no_alpha: bool = False,
    discount_reward: bool = False,
    argmax: bool = False,
) -> Tensor:
    """The Q-learning update with one of its known slips (the variants below)."""
    q = q.clone()
    future = q[s_next, a] if sarsa else (q[s_next].argmax().to(q.dtype) if argmax else q[s_next].max())
    if terminated and not bootstrap_terminal:
        future = torch.zeros((), dtype=q.dtype)
    target = (gamma * r if discount_reward else r) + gamma * future
    q[s, a] = target if no_alpha else q[s, a] + alpha * (target - q[s, a])
    return q


def _q_cases(gen: torch.Generator) -> list[Case]:
    fixed = [
        (4, 3, False, "random"),
        (4, 3, True, "random"),
        (1, 2, False, "self-loop"),
        (5, 4, True, "self-loop"),
        (3, 1, False, "random"),
        (6, 4, False, "random"),
    ]
    rand = [(integer(gen, 1, 6), integer(gen, 1, 4), bool(integer(gen, 0, 1)), "random") for _ in range(3)]
    out = []
    for i, (states, actions, terminated, kind) in enumerate(fixed + rand):
        dtype = pick(gen, DTYPES)
        q = randn((states, actions), dtype, gen, 2.0)
        s, a = integer(gen, 0, states - 1), integer(gen, 0, actions - 1)
        s_next = s if kind == "self-loop" else integer(gen, 0, states - 1)
        r = round(float(torch.randn((), generator=gen, dtype=torch.float64)) * 3, 3)
        alpha, gamma = pick(gen, (0.1, 0.5, 1.0)), pick(gen, (0.9, 0.99, 0.5))
        if i == 4:
            gamma = 0.0
        label = (
            f"{states} states x {actions} actions, {'terminal' if terminated else 'not terminal'}"
            f"{', s_next = s' if s_next == s else ''}, alpha {alpha}, gamma {gamma}, {dtype_name(dtype)}"
        )
        out.append(Case(label, (q, s, a, r, s_next, terminated, alpha, gamma)))
    return out


Q_UPDATE = Exercise(
    name="q_update",
    chapter="rl",
    section=SECTION,
    difficulty=1,
    title="the tabular Q-learning update",
    parameters=("q", "s", "a", "r", "s_next", "terminated", "alpha", "gamma"),
    returns="the updated table",
    docstring=r"""
The Q-learning update of one transition (s, a, r, s') (Watkins 1989; the lab book, chapter 7):

    target  = r + gamma * max_a' Q(s', a')      if the episode did not terminate at s'
            = r                                 if it terminated (a terminal state has no future)
    Q(s, a) = Q(s, a) + alpha * (target - Q(s, a))

Only the entry Q(s, a) changes. (An episode cut short by a time limit is not terminated: its s' still has a
future, so it bootstraps.)

Arguments: q, the table, (S, A) float; s, a, s_next, ints (s_next may equal s); r, the reward, a float;
terminated, a bool; alpha, the learning rate, 0 < alpha <= 1; gamma, the discount, 0 <= gamma <= 1.
Returns the updated table, (S, A), q's dtype (a new tensor, or q changed in place and returned).

The checker tries terminal and non-terminal transitions, s' = s, one action, gamma = 0, alpha = 1, float32
and float64.
""",
    reference=q_update,
    cases=_q_cases,
    mistakes=(
        Mistake(
            "bootstrapped from a terminal state",
            "You added gamma max Q(s', .) after a terminal transition: a "
            "terminal state has no future, so the target is r alone.",
            SECTION,
            lambda *a: _q(*a, bootstrap_terminal=True),
        ),
        Mistake(
            "Q(s', a) instead of the max",
            "You bootstrapped from Q(s', a), the same action in the next state: "
            "Q-learning takes the best next action, max_a' Q(s', a').",
            SECTION,
            lambda *a: _q(*a, sarsa=True),
        ),
        Mistake(
            "no learning rate",
            "You replaced Q(s, a) by the target: the update moves it a fraction alpha of "
            "the way, Q + alpha (target - Q).",
            SECTION,
            lambda *a: _q(*a, no_alpha=True),
        ),
        Mistake(
            "discounted the reward",
            "You multiplied the reward by gamma: the reward of this step counts in "
            "full, and only the future is discounted, r + gamma max Q(s', .).",
            SECTION,
            lambda *a: _q(*a, discount_reward=True),
        ),
        Mistake(
            "argmax instead of max",
            "You used the index of the best next action (argmax) as its value: the "
            "target uses the value, max_a' Q(s', a').",
            SECTION,
            lambda *a: _q(*a, argmax=True),
        ),
    ),
)


# ---- discounted returns -----------------------------------------------------------------------------------


def discounted_returns(rewards: Tensor, gamma: float) -> Tensor:
    return library_returns([float(r) for r in rewards], gamma, rewards.dtype)


def _returns(
    rewards: Tensor, gamma: float, *, forward: bool = False, shift: int = 0, undiscounted: bool = False
) -> Tensor:
    """Discounted returns with one of their known slips (the variants below)."""
    n, g = len(rewards), 1.0 if undiscounted else gamma
    out = torch.zeros_like(rewards)
    for t in range(n):
        steps = range(t + 1) if forward else range(t, n)
        out[t] = sum(g ** (abs(k - t) + shift) * float(rewards[k]) for k in steps)
    return out


def _returns_cases(gen: torch.Generator) -> list[Case]:
    fixed = [(1, 0.9, "one step"), (5, 0.0, "gamma 0"), (6, 1.0, "gamma 1"), (4, 0.9, "a reward at the end")]
    rand = [(integer(gen, 2, 12), pick(gen, (0.9, 0.99, 0.5)), "random") for _ in range(4)]
    out = []
    for n, gamma, kind in fixed + rand:
        dtype = pick(gen, DTYPES)
        rewards = randn((n,), dtype, gen)
        if kind == "a reward at the end":
            rewards = torch.zeros(n, dtype=dtype)
            rewards[-1] = 1.0
        out.append(Case(f"{kind}: {n} rewards, gamma {gamma}, {dtype_name(dtype)}", (rewards, gamma)))
    return out


RETURNS = Exercise(
    name="discounted_returns",
    chapter="rl",
    section=SECTION,
    difficulty=1,
    title="discounted returns of an episode",
    parameters=("rewards", "gamma"),
    returns="the returns (T,)",
    docstring=r"""
The discounted return from every step of one episode (the lab book, chapter 7): what the agent collects
from step t to the end, each reward discounted by gamma per step of delay,

    G_t = r_t + gamma * r_{t+1} + gamma^2 * r_{t+2} + ... + gamma^(T-1-t) * r_{T-1}

computed backwards in one pass: G_{T-1} = r_{T-1}, G_t = r_t + gamma * G_{t+1}.

Arguments: rewards, (T,) float, T >= 1: r_0, ..., r_{T-1}, the reward received after each action;
gamma, 0 <= gamma <= 1.
Returns (T,), rewards' dtype: G_0, ..., G_{T-1}.

The checker tries one step, gamma = 0 and 1, a single reward at the end, float32 and float64.
""",
    reference=discounted_returns,
    cases=_returns_cases,
    mistakes=(
        Mistake(
            "summed forwards",
            "You summed the rewards before step t: the return is what comes after it, "
            "G_t = r_t + gamma G_{t+1}, computed from the episode's end backwards.",
            SECTION,
            lambda r, g: _returns(r, g, forward=True),
        ),
        Mistake(
            "discount off by one",
            "You discounted r_t itself by gamma: the first reward counts in full, G_t = r_t + gamma r_{t+1} + ...",
            SECTION,
            lambda r, g: _returns(r, g, shift=1),
        ),
        Mistake(
            "no discount",
            "You summed the rewards without discounting: each step of delay multiplies a reward by gamma.",
            SECTION,
            lambda r, g: _returns(r, g, undiscounted=True),
        ),
    ),
)


# ---- generalized advantage estimation ---------------------------------------------------------------------


def gae(
    rewards: Tensor, values: Tensor, starts: Tensor, next_value: Tensor, next_start: Tensor, gamma: float, lam: float
) -> Tensor:
    return library_gae(rewards, values, starts, next_value, next_start, gamma, lam)


def _gae(
    rewards: Tensor,
    values: Tensor,
    starts: Tensor,
    next_value: Tensor,
    next_start: Tensor,
    gamma: float,
    lam: float,
    *,
    reset: bool = True,
    same_step: bool = False,
    no_gamma: bool = False,
    forward: bool = False,
) -> Tensor:
    """GAE with one of its known slips (the variants below)."""
    steps = rewards.shape[0]
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(next_value)
    order = range(steps) if forward else reversed(range(steps))
    for t in order:
        following = next_start if t == steps - 1 else starts[t + 1]
        boundary = starts[t] if same_step else following
        not_done = 1.0 - boundary if reset else torch.ones_like(boundary)
        value_next = next_value if t == steps - 1 else values[t + 1]
        delta = rewards[t] + gamma * not_done * value_next - values[t]
        running = delta + (lam if no_gamma else gamma * lam) * not_done * running
        out[t] = running
    return out


def _gae_cases(gen: torch.Generator) -> list[Case]:
    fixed = [(1, 1, "one step"), (6, 2, "episode ends"), (5, 3, "random"), (4, 1, "last step ends")]
    rand = [(integer(gen, 2, 8), integer(gen, 1, 3), "random") for _ in range(4)]
    out = []
    for steps, n, kind in fixed + rand:
        dtype = pick(gen, DTYPES)
        rewards, values = randn((steps, n), dtype, gen), randn((steps, n), dtype, gen)
        starts = (torch.rand(steps, n, generator=gen) < 0.3).to(dtype)
        if kind == "episode ends":
            starts[steps // 2] = 1.0
        next_value = randn((n,), dtype, gen)
        next_start = (torch.rand(n, generator=gen) < 0.3).to(dtype)
        if kind == "last step ends":
            next_start = torch.ones(n, dtype=dtype)
        gamma, lam = pick(gen, (0.99, 0.9, 0.5)), pick(gen, (0.95, 0.9, 0.0, 1.0))
        label = f"{kind}: {steps} steps x {n} environments, gamma {gamma}, lambda {lam}, {dtype_name(dtype)}"
        out.append(Case(label, (rewards, values, starts, next_value, next_start, gamma, lam)))
    return out


GAE = Exercise(
    name="gae",
    chapter="rl",
    section=SECTION,
    difficulty=3,
    title="generalized advantage estimates of a rollout",
    parameters=("rewards", "values", "starts", "next_value", "next_start", "gamma", "lam"),
    returns="the advantages (T, N)",
    docstring=r"""
Generalized advantage estimates (Schulman et al. 2016), as PPO computes them (the lab book, chapter 7), for
a rollout of T steps in N environments at once. Backwards in time, t = T-1, ..., 0:

    not_done_t = 1 - starts[t+1]             (1 - next_start for t = T-1): 0 where the episode ended
    V_next     = values[t+1]                 (next_value for t = T-1)
    delta_t    = rewards[t] + gamma * not_done_t * V_next - values[t]
    A_t        = delta_t + gamma * lam * not_done_t * A_{t+1}          (A_T = 0)

starts[t] is 1 where the observation of step t began a new episode, so starts[t+1] = 1 means step t
ended one: nothing flows back across that boundary.

Arguments: rewards, values, starts, (T, N) float (starts holds 0.0 or 1.0); next_value, next_start,
(N,): the value and the start flag of the observation after the last step; gamma, 0 <= gamma <= 1;
lam, 0 <= lam <= 1. All of one float dtype.
Returns the advantages (T, N), rewards' dtype.

The checker tries one step, episodes that end inside the rollout and at its last step, lambda = 0 and 1,
float32 and float64.
""",
    reference=gae,
    cases=_gae_cases,
    mistakes=(
        Mistake(
            "no reset at episode ends",
            "You let values and advantages flow across the end of an episode: where "
            "starts[t+1] = 1, step t ended an episode, and neither V(s_{t+1}) nor A_{t+1} belongs to it.",
            SECTION,
            lambda *a: _gae(*a, reset=False),
        ),
        Mistake(
            "the boundary off by one",
            "You masked step t with starts[t]: whether step t ended an episode is "
            "starts[t+1] (next_start for the last step).",
            SECTION,
            lambda *a: _gae(*a, same_step=True),
        ),
        Mistake(
            "lambda without gamma",
            "You decayed the advantage by lambda alone: the trace decays by gamma * lambda per step.",
            SECTION,
            lambda *a: _gae(*a, no_gamma=True),
        ),
        Mistake(
            "computed forwards",
            "You ran the recursion forwards in time: A_t depends on A_{t+1}, so it runs "
            "from the last step back to the first.",
            SECTION,
            lambda *a: _gae(*a, forward=True),
        ),
    ),
)

EXERCISES = (Q_UPDATE, RETURNS, GAE)
