"""descentlab.rl: GridRoute against independent references (networkx shortest paths, Gymnasium's checker),
the agents' update rules against direct computations, small learning runs, and the rl commands."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import StopAfter, assert_one_line_error, cli
from gymnasium.utils.env_checker import check_env
from torch import nn

from descentlab.errors import ParameterError, UserError
from descentlab.experiments.rl.rewards import RewardsConfig, pessimistic_start
from descentlab.optim.flat import flat_parameters
from descentlab.rl import ENV_ID, DQNConfig, PPOConfig, agent_config, evaluate, make_agent
from descentlab.rl.common import mlp
from descentlab.rl.envs import GridRoute, distances, generate_map, parse_map, shortest_path
from descentlab.rl.ppo import ActorCritic, StackedActorCritic, gae, sample
from descentlab.rl.qlearning import QLearning, QLearningConfig, q_update
from descentlab.rl.reinforce import discounted_returns

SMALL_MAP = """\
S..#.
.#...
.#.#.
...#G
"""


def _graph(walls: np.ndarray) -> nx.Graph:
    """The free cells as a networkx grid graph: the independent reference for paths."""
    g = nx.grid_2d_graph(*walls.shape)
    g.remove_nodes_from([tuple(c) for c in np.argwhere(walls).tolist()])
    return g


# ---- the environment --------------------------------------------------------------------------


def test_gridroute_passes_gymnasium_env_checker() -> None:
    for kwargs in ({}, {"map": SMALL_MAP, "reward": "positive"}, {"size": (6, 9), "obstacles": 0.3, "map_seed": 4}):
        env = gym.make(ENV_ID, render_mode="rgb_array", **kwargs).unwrapped
        assert isinstance(env, GridRoute)
        check_env(env, skip_render_check=False)


def test_bfs_distances_and_paths_equal_networkx() -> None:
    walls = generate_map(12, 12, 0.3, seed=3)
    g = _graph(walls)
    source = tuple(np.argwhere(~walls)[0].tolist())
    ours = distances(walls, source)
    reference = nx.single_source_shortest_path_length(g, source)
    assert ours == dict(reference)
    for target in list(reference)[::7]:
        path = shortest_path(walls, source, target)
        assert len(path) - 1 == reference[target]
        assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in itertools.pairwise(path))


def test_generated_maps_are_connected_reproducible_and_seeded() -> None:
    for seed in range(5):
        walls = generate_map(10, 10, 0.35, seed)
        assert nx.is_connected(_graph(walls)), seed  # a path between any two free cells
        assert (generate_map(10, 10, 0.35, seed) == walls).all()
    assert not (generate_map(10, 10, 0.35, 0) == generate_map(10, 10, 0.35, 1)).all()
    assert 0.15 < generate_map(20, 20, 0.2, 0).mean() < 0.35  # about the asked fraction of walls


def test_parse_map_errors_are_one_line_and_say_what_is_valid() -> None:
    with pytest.raises(UserError, match="row 2 has 3 cells"):
        parse_map("S...\n.#.\n")
    with pytest.raises(UserError, match="valid cells"):
        parse_map("S.x.\n")
    with pytest.raises(UserError, match="not a free cell"):
        GridRoute(map=SMALL_MAP, start=(0, 3))
    with pytest.raises(ValueError, match="reward: 'pleasure' is not valid; valid: one of positive, negative, both"):
        GridRoute(reward="pleasure")


def _walk(env: GridRoute, actions: list[int]) -> tuple[list[float], dict]:
    rewards, info = [], {}
    for a in actions:
        _, r, terminated, truncated, info = env.step(a)
        rewards.append(r)
        if terminated or truncated:
            break
    return rewards, info


# S..#.   start (0,0), goal (3,4); optimal path: right, right, down, right... computed below
def test_rewards_and_effectiveness_of_an_optimal_and_a_detoured_route() -> None:
    walls, start, goal = parse_map(SMALL_MAP)
    optimal = nx.shortest_path_length(_graph(walls), start, goal)
    path = shortest_path(walls, start, goal)
    moves = {(-1, 0): 0, (0, 1): 1, (1, 0): 2, (0, -1): 3}
    best = [moves[(b[0] - a[0], b[1] - a[1])] for a, b in itertools.pairwise(path)]

    env = GridRoute(map=SMALL_MAP, reward="positive")
    env.reset(seed=0)
    rewards, info = _walk(env, best)
    assert info["effectiveness"] == 1.0 and info["is_success"] and info["path_length"] == optimal
    assert rewards == [0.0] * (optimal - 1) + [1.0]  # positive: only at the goal, scaled by effectiveness

    env = GridRoute(map=SMALL_MAP, reward="positive")
    env.reset(seed=0)
    rewards, info = _walk(env, [0, 3, *best])  # two bumps (up and left off the map) first
    assert info["effectiveness"] == pytest.approx(optimal / (optimal + 2))
    assert rewards[-1] == pytest.approx(optimal / (optimal + 2))

    env = GridRoute(map=SMALL_MAP, reward="negative", step_cost=0.01, wall_cost=0.05)
    env.reset(seed=0)
    rewards, _ = _walk(env, [0, 3, *best])
    assert sum(rewards) == pytest.approx(-0.01 * (optimal + 2) - 0.05 * 2)

    env = GridRoute(map=SMALL_MAP, reward="both", step_cost=0.1)
    env.reset(seed=0)
    rewards, _ = _walk(env, best)
    assert sum(rewards) == pytest.approx(1.0 - 0.1 * optimal)


def test_episode_limit_truncates_with_zero_effectiveness() -> None:
    env = GridRoute(map=SMALL_MAP, max_steps=5)
    env.reset(seed=0)
    _, info = _walk(env, [0] * 10)
    assert info["effectiveness"] == 0.0 and not info["is_success"] and info["path_length"] == 5


def test_random_start_and_goal_differ_and_follow_the_seed() -> None:
    env = GridRoute(size=(8, 8), obstacles=0.25, map_seed=1)
    seen = set()
    for seed in range(30):
        env.reset(seed=seed)
        assert env.agent != env.goal and not env.walls[env.agent] and not env.walls[env.goal]
        assert env.optimal == nx.shortest_path_length(_graph(env.walls), env.agent, env.goal)
        seen.add((env.agent, env.goal))
    assert len(seen) > 20
    a, b = GridRoute(size=(8, 8), map_seed=1), GridRoute(size=(8, 8), map_seed=1)
    assert [a.reset(seed=5)[0].tobytes(), a.agent] == [b.reset(seed=5)[0].tobytes(), b.agent]


def test_observation_and_renderings() -> None:
    env = GridRoute(map=SMALL_MAP, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 4, 5) and obs[1].sum() == 1 and obs[2].sum() == 1
    assert (obs[0] == env.walls).all() and obs[1][0, 0] == 1 and obs[2][3, 4] == 1
    image = env.render()
    assert image.shape == (4 * 16, 5 * 16, 3) and image.dtype == np.uint8
    assert tuple(image[3 * 16 + 8, 4 * 16 + 8]) == (230, 180, 30)  # the goal cell's centre is gold
    text = GridRoute(map=SMALL_MAP, render_mode="ansi")
    text.reset(seed=0)
    text.step(1)
    assert text.render().splitlines()[0] == "*A.#."


# ---- agents' pieces against direct computations --------------------------------------------------


def test_flat_parameters_train_exactly_like_separate_tensors() -> None:
    """Adam on the flat tensor gives the same weights as torch.optim.Adam on the separate parameters."""
    torch.manual_seed(0)
    ours, reference = mlp([5, 16, 16, 3]), mlp([5, 16, 16, 3])
    reference.load_state_dict(ours.state_dict())
    flat = flat_parameters(ours)
    opt = torch.optim.Adam([flat], lr=1e-2)
    ref_opt = torch.optim.Adam(reference.parameters(), lr=1e-2)
    for _ in range(5):
        x = torch.randn(8, 5)
        flat.grad.zero_()  # type: ignore[union-attr]
        ours(x).pow(2).mean().backward()
        opt.step()
        ref_opt.zero_grad()
        reference(x).pow(2).mean().backward()
        ref_opt.step()
    for p, q in zip(ours.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)  # float32, 5 steps


def test_dqn_training_step_matches_the_td_target_computed_directly() -> None:
    """One gradient step with the batched targets equals Huber(Q(s,a) - (r + gamma (1-d) max Q_target(s'))),
    computed here from the replay buffer with F.huber_loss, for DQN and Double DQN."""
    for double in (False, True):
        cfg = agent_config("dqn", "CartPole-v1", hidden="32", learning_starts=0, train_freq=10**9, double=double,
                           optimizer="sgd", lr=0.1)  # fmt: skip
        agent = make_agent("dqn", "CartPole-v1", seed=1, config=cfg)
        agent.learn(300)
        with torch.no_grad():
            for p in agent.q_target.parameters():
                p.add_(0.05 * torch.randn_like(p))  # a target network different from the online one
        gen_state = agent.generator.get_state()
        before = [p.detach().clone() for p in agent.q.parameters()]
        agent.train(1)
        idx = torch.randint(
            0, agent.buffer.size, (1, cfg.batch_size), generator=torch.Generator().set_state(gen_state)
        )[0]
        b = agent.buffer
        reference = mlp([4, 32, 2])
        reference.load_state_dict(dict(zip(agent.q.state_dict(), before, strict=True)))
        with torch.no_grad():
            q_next = agent.q_target(b.next_obs[idx])
            a_next = reference(b.next_obs[idx]).argmax(1) if double else q_next.argmax(1)
            y = b.rewards[idx] + 0.99 * (1 - b.terminated[idx]) * q_next[torch.arange(len(idx)), a_next]
        loss = F.huber_loss(reference(b.obs[idx])[torch.arange(len(idx)), b.actions[idx]], y, delta=1.0)
        loss.backward()
        norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in reference.parameters()))
        scale = min(1.0, 10.0 / (float(norm) + 1e-6))
        for p, q in zip(agent.q.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(p.detach(), q.detach() - 0.1 * scale * q.grad, rtol=0, atol=1e-6)


def test_polyak_target_update() -> None:
    cfg = agent_config("dqn", "CartPole-v1", hidden="8", tau=0.25)
    agent = make_agent("dqn", "CartPole-v1", config=cfg)
    with torch.no_grad():
        for p in agent.q.parameters():
            p.add_(1.0)
    old = [p.clone() for p in agent.q_target.parameters()]
    agent.update_target()
    for t, o, q in zip(agent.q_target.parameters(), old, agent.q.parameters(), strict=True):
        torch.testing.assert_close(t, 0.25 * q + 0.75 * o)


def test_gae_equals_the_sum_of_discounted_td_errors_within_each_episode() -> None:
    torch.manual_seed(0)
    steps, n, gamma, lam = 9, 3, 0.9, 0.8
    rewards, values = torch.randn(steps, n), torch.randn(steps, n)
    starts = (torch.rand(steps, n) < 0.25).float()
    starts[0] = 0.0
    next_value, next_start = torch.randn(n), torch.tensor([0.0, 1.0, 0.0])
    ours = gae(rewards, values, starts, next_value, next_start, gamma, lam)
    all_starts = torch.cat([starts, next_start[None]])
    all_values = torch.cat([values, next_value[None]])
    for env in range(n):
        for t in range(steps):  # A_t = sum_l (gamma lam)^l delta_{t+l}, stopping at the episode's end
            total, factor = 0.0, 1.0
            for k in range(t, steps):
                alive = 1.0 - float(all_starts[k + 1, env])
                delta = float(rewards[k, env] + gamma * alive * all_values[k + 1, env] - values[k, env])
                total += factor * delta
                if not alive:
                    break
                factor *= gamma * lam
            assert float(ours[t, env]) == pytest.approx(total, abs=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_stacked_actor_critic_equals_the_two_separate_networks(activation: str) -> None:
    """PPO's fast layout (both networks' layers as one batched product) against the readable reference, two
    nn.Sequential MLPs: the same outputs and the same gradients for the same weights (float64, 1e-12)."""
    torch.manual_seed(0)
    reference = ActorCritic(4, 3, [16, 8], activation).double()
    stacked = StackedActorCritic(4, 3, [16, 8], activation).double()
    stacked.load_networks(reference)
    x = torch.randn(5, 4, dtype=torch.float64)
    (logits, value), (ref_logits, ref_value) = stacked(x), reference(x)
    torch.testing.assert_close(logits, ref_logits, rtol=0, atol=1e-12)
    torch.testing.assert_close(value, ref_value, rtol=0, atol=1e-12)
    loss = (logits.log_softmax(1)[:, 0] * value).sum() + value.square().sum()
    ref_loss = (ref_logits.log_softmax(1)[:, 0] * ref_value).sum() + ref_value.square().sum()
    loss.backward()
    ref_loss.backward()
    policy = [m for m in reference.policy if isinstance(m, nn.Linear)]
    critic = [m for m in reference.value_net if isinstance(m, nn.Linear)]
    for w, b, p, v in zip(stacked.weights, stacked.biases, policy, critic, strict=True):
        torch.testing.assert_close(w.grad[0], p.weight.grad.T, rtol=0, atol=1e-12)
        torch.testing.assert_close(b.grad[0, 0], p.bias.grad, rtol=0, atol=1e-12)
        torch.testing.assert_close(w.grad[1, :, : v.out_features], v.weight.grad.T, rtol=0, atol=1e-12)
        torch.testing.assert_close(b.grad[1, 0, : v.out_features], v.bias.grad, rtol=0, atol=1e-12)
    assert float(stacked.weights[-1].grad[1, :, 1:].abs().sum()) == 0.0  # the padding columns learn nothing
    stacked.zero_grad()
    stacked(x)[1].sum().backward()  # the value loss alone leaves the policy network alone
    assert float(stacked.weights[-1].grad[0].abs().sum()) == 0.0


def test_agent_hyperparameters_are_declared_once_and_checked() -> None:
    """Each agent's config validates its own hyperparameters (ValueError naming the field); agent_config
    refuses one the algorithm does not have, naming the algorithms that have it."""
    with pytest.raises(ValueError, match=r"lr: -1.0 is out of range; valid: a number, 0.0 < lr <= 10.0"):
        DQNConfig(lr=-1.0)
    with pytest.raises(ValueError, match="hidden: '64,x' is not valid"):
        PPOConfig(hidden="64,x")
    with pytest.raises(ParameterError, match="gae_lambda: dqn has no such hyperparameter; only ppo has it") as info:
        agent_config("dqn", "CartPole-v1", gae_lambda=0.9)
    assert info.value.name == "gae_lambda"
    with pytest.raises(ParameterError, match="bogus: ppo has no such hyperparameter; no agent has it"):
        agent_config("ppo", "CartPole-v1", bogus=1)
    assert agent_config("dqn", "CartPole-v1", gae_lambda=None) == agent_config("dqn", "CartPole-v1")  # None: unset
    assert agent_config("ppo", "LunarLander-v3", lr=1e-4).lr == 1e-4  # overrides beat the preset
    assert agent_config("ppo", "LunarLander-v3").n_envs == 16  # the preset beats the defaults


def test_rl_train_flags_are_every_agent_hyperparameter() -> None:
    """`rl train` has one flag per hyperparameter of any agent, and its help names the agents having it."""
    from descentlab.experiments.rl.common import HYPERPARAMETERS, RLSettings
    from descentlab.rl import ALGORITHMS

    declared = {f.name for spec in ALGORITHMS.values() for f in dataclasses.fields(spec.config)}
    assert set(HYPERPARAMETERS) == declared
    assert not declared & {f.name for f in dataclasses.fields(RLSettings)}  # no hyperparameter shadows a setting
    text = " ".join(cli("rl", "train", "--help").stdout.split())
    for name in declared:
        assert f"--{name.replace('_', '-')}" in text
    assert "GAE lambda (ppo; default: the preset)" in text
    assert "discount factor (qlearning, dqn, reinforce, ppo; default: the preset)" in text


def test_sampled_actions_follow_the_softmax() -> None:
    logits = torch.tensor([[0.0, 1.0, -1.0, 2.0]]).repeat(40_000, 1)
    actions, log_probs = sample(logits, torch.Generator().manual_seed(0))
    freq = torch.bincount(actions, minlength=4).float() / len(actions)
    torch.testing.assert_close(freq, logits[0].softmax(0), rtol=0, atol=0.01)  # 40,000 draws: sd < 0.0025
    torch.testing.assert_close(log_probs, logits.log_softmax(1).gather(1, actions[:, None])[:, 0])


def test_discounted_returns() -> None:
    rewards, gamma = [1.0, 0.0, 2.0, -1.0], 0.9
    expected = [sum(gamma ** (k - t) * rewards[k] for k in range(t, 4)) for t in range(4)]
    torch.testing.assert_close(discounted_returns(rewards, gamma), torch.tensor(expected))


def test_evaluate_runs_exactly_the_asked_episodes_and_repeats() -> None:
    def act(obs: np.ndarray) -> np.ndarray:
        return (obs[:, 2] > 0).astype(np.int64)  # push toward the pole's lean

    a = evaluate(act, "CartPole-v1", episodes=7, parallel=3)
    assert a["episodes"] == len(a["returns"]) == 7
    assert a == evaluate(act, "CartPole-v1", episodes=7, parallel=3)
    assert a["mean_return"] == pytest.approx(np.mean(a["returns"]))


# ---- learning, small -----------------------------------------------------------------------------


def test_qlearning_finds_the_shortest_route() -> None:
    kwargs = {"map": SMALL_MAP, "reward": "negative"}
    agent = make_agent("qlearning", ENV_ID, seed=0, **kwargs)
    agent.learn(4000)
    result = evaluate(agent.act, ENV_ID, episodes=5, **kwargs)
    assert result["mean_effectiveness"] == 1.0


def test_dqn_learns_a_route() -> None:
    kwargs = {"map": SMALL_MAP, "reward": "negative"}
    cfg = agent_config("dqn", ENV_ID, hidden="64", learning_starts=200, eps_fraction=0.5, target_update=100)
    dqn = make_agent("dqn", ENV_ID, seed=0, config=cfg, **kwargs)
    dqn.learn(3000)
    assert evaluate(dqn.act, ENV_ID, episodes=5, **kwargs)["mean_effectiveness"] == 1.0


@pytest.mark.slow
def test_ppo_and_reinforce_improve_on_cartpole() -> None:
    """(The quick tour trains PPO on CartPole in the default suite; this checks both agents' learning.)"""
    ppo = make_agent("ppo", "CartPole-v1", seed=0)
    ppo.learn(12_000)
    assert evaluate(ppo.act, "CartPole-v1", episodes=10)["mean_return"] > 150  # random play: about 22
    reinforce = make_agent("reinforce", "CartPole-v1", seed=0)
    reinforce.learn(15_000)
    assert evaluate(reinforce.act, "CartPole-v1", episodes=10)["mean_return"] > 60


def test_qlearning_needs_finite_observations() -> None:
    with pytest.raises(UserError, match="finite set of observations"):
        make_agent("qlearning", "CartPole-v1")


@pytest.mark.parametrize("algo", ["dqn", "ppo", "reinforce", "qlearning"])
def test_agent_state_round_trips(algo: str) -> None:
    env = ENV_ID if algo == "qlearning" else "Acrobot-v1"
    kwargs = {"map": SMALL_MAP} if algo == "qlearning" else {}
    small = {
        "dqn": dict(learning_starts=50, train_freq=4, batch_size=16),
        "ppo": dict(n_steps=16, n_envs=2, batch_size=16),
    }
    cfg = agent_config(algo, env, **small.get(algo, {}))
    agent = make_agent(algo, env, seed=0, config=cfg, **kwargs)
    agent.learn(400)
    state = agent.state_dict()
    other = make_agent(algo, env, seed=5, config=cfg, **kwargs)
    other.load_state_dict(state)
    obs = np.stack([gym.make(env, **kwargs).reset(seed=s)[0] for s in range(6)])
    assert (other.act(obs) == agent.act(obs)).all()
    assert other.steps == agent.steps and other.updates == agent.updates
    agent.learn(600)
    other.learn(600)
    assert other.steps == agent.steps >= 600


# ---- commands ------------------------------------------------------------------------------------

GRID_SMALL = ["--env", ENV_ID, "--grid-size", "5", "--obstacles", "0.2"]


def _only_run(root: Path, experiment: str) -> Path:
    (run,) = (root / experiment).iterdir()
    return run


def test_rl_train_eval_play_on_gridroute(tmp_runs: Path, tmp_path: Path) -> None:
    r = cli("rl", "train", *GRID_SMALL, "--algo", "qlearning", "--route", "fixed", "--total-steps", "3000",
            "--out", str(tmp_runs))  # fmt: skip
    assert r.returncode == 0, r.stderr
    run = _only_run(tmp_runs, "rl-train")
    assert {"agent.pt", "returns.png", "routes.png", "metrics.jsonl"} <= {p.name for p in run.iterdir()}
    assert "effectiveness %" in r.stdout
    e = cli("rl", "eval", str(run), "--episodes", "4", "--json")
    assert e.returncode == 0, e.stderr
    out = json.loads(e.stdout)
    assert {"mean_return", "std_return", "mean_effectiveness"} <= set(out) and out["episodes"] == 4
    assert out["mean_effectiveness"] == 1.0  # a 5x5 map and 3,000 steps: the fixed route is learned
    gif = tmp_path / "route.gif"
    p = cli("rl", "play", str(run), "--out", str(gif))
    assert p.returncode == 0, p.stderr
    from PIL import Image

    with Image.open(gif) as image:
        assert image.n_frames >= 2
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("charts/episodic_return" in rec for rec in records)
    assert any("eval/mean_effectiveness" in rec for rec in records)


def test_rl_train_cartpole_and_resume_after_interrupt(tmp_runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextlib import contextmanager

    from descentlab.errors import Interrupted
    from descentlab.experiments import EXPERIMENTS, resume, runner, start
    from descentlab.experiments.rl.common import RLConfig
    from descentlab.experiments.rl.train import RL_TRAIN
    from descentlab.runs import load_run

    cfg = RLConfig(env="CartPole-v1", algo="dqn", total_steps=1500, hidden="16", learning_starts=100, train_freq=50,
                   gradient_steps=10, eval_every=500, eval_episodes=2, final_episodes=3)  # fmt: skip

    @contextmanager
    def stop_midway(*_):  # type: ignore[no-untyped-def]
        yield StopAfter(700)

    monkeypatch.setattr(runner, "stop_on_signals", stop_midway)
    with pytest.raises(Interrupted):
        start(RL_TRAIN, cfg, tmp_runs)
    monkeypatch.undo()
    run = _only_run(tmp_runs, "rl-train")
    assert load_run(run).summary["status"] == "interrupted"
    resume(EXPERIMENTS, run)
    record = load_run(run)
    assert record.summary["status"] == "complete"
    assert record.final()["steps"] == 1500
    evals = [r["step"] for r in record.metrics if "eval/mean_return" in r]
    assert evals == [0, 500, 1000, 1500, 1500]  # periodic ones, the last one, then the final evaluation


def test_rl_rewards_compares_positive_and_negative(tmp_runs: Path) -> None:
    r = cli("rl", "rewards", "--grid-size", "5", "--route", "fixed", "--total-steps", "3000", "--eval-every", "500",
            "--eval-episodes", "2", "--out", str(tmp_runs))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "steps to 90% effectiveness" in r.stdout and "positive" in r.stdout and "negative" in r.stdout
    run = _only_run(tmp_runs, "rl-rewards")
    assert (run / "effectiveness.png").is_file()
    final = json.loads((run / "summary.json").read_text())["metrics"]
    assert not math.isnan(final["negative/steps_to_target"])  # negative reinforcement learns this map
    assert final["pessimistic/q_init"] == pytest.approx(-2 * 0.1 / (1 - 0.97))  # GridRoute's cost, the preset gamma
    assert "pessimistic" in r.stdout


def test_q_init_sets_every_new_entry_and_the_greedy_default() -> None:
    agent = QLearning(QLearningConfig(q_init=-2.5), "descentlab/GridRoute-v0", size=(4, 4), obstacles=0.0)
    obs, _ = agent.env.reset(seed=0)
    assert agent.q(obs).tolist() == [-2.5] * agent.n_actions


def test_pessimistic_start_is_below_the_costs_fixed_point_and_zero_is_above() -> None:
    """The separation the rl-rewards run rests on, checked on the update rule itself (q_update): from the
    pessimistic start a tried action's value rises (it looks better than untried ones); from zero it falls."""
    q0 = pessimistic_start(RewardsConfig())
    for start, rises in ((q0, True), (0.0, False)):
        row = np.full(4, start)
        q_update(row, 0, -0.1, np.full(4, start), False, lr=0.5, gamma=0.97)
        assert (row[0] > start) == rises, (start, row[0])


def test_pessimistic_scheme_needs_a_table() -> None:
    r = cli("rl", "rewards", "--algo", "dqn")
    assert r.returncode == 2 and "--algo: dqn has no Q-table" in r.stderr and "--schemes positive,negative" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["rl", "train", "--algo", "sarsa"], ["algo", "valid: one of qlearning, dqn, reinforce, ppo"]),
        (["rl", "train", "--env", "NoSuchEnv-v0"], ["--env: NoSuchEnv-v0"]),
        (
            ["rl", "train", "--algo", "dqn", "--gae-lambda", "0.9"],
            ["--gae-lambda: dqn has no such hyperparameter; only ppo has it"],
        ),
        (
            ["rl", "train", "--algo", "reinforce", "--batch-size", "8"],
            ["--batch-size: reinforce has no such", "only dqn, ppo"],
        ),
        (
            ["rl", "train", "--algo", "ppo", "--gae-lambda", "1.5"],
            ["--gae-lambda: 1.5 is out of range", "gae_lambda <= 1.0"],
        ),
        (["rl", "train", "--env", "Pendulum-v1"], ["not discrete"]),
        (["rl", "train", "--env", "CartPole-v1", "--reward", "positive"], ["GridRoute"]),
        (["rl", "train", "--env", "CartPole-v1", "--algo", "qlearning"], ["finite set of observations"]),
        (["rl", "train", "--lr", "-1"], ["lr"]),
        (["rl", "train", "--env", ENV_ID, "--map", "/no/such/map.txt"], ["no such file"]),
        (["rl", "train", "--env", "CartPole-v1", "--hidden", "64,x"], ["--hidden"]),
        (["rl", "eval", "/no/such/run"], ["no such run folder"]),
    ],
)
def test_rl_bad_input_is_one_line(args: list[str], fragments: list[str], tmp_runs: Path) -> None:
    assert_one_line_error(cli(*args, *(["--out", str(tmp_runs)] if args[1] == "train" else [])), *fragments)


def test_rl_play_and_eval_refuse_bad_files(tmp_runs: Path, tmp_path: Path) -> None:
    r = cli("rl", "train", *GRID_SMALL, "--algo", "qlearning", "--total-steps", "300", "--out", str(tmp_runs))
    assert r.returncode == 0, r.stderr
    run = _only_run(tmp_runs, "rl-train")
    assert_one_line_error(cli("rl", "play", str(run), "--out", str(tmp_path / "x.png")), "GIF")
    for name, which in (("agent.pt", "final"), ("best_agent.pt", "best")):
        data = bytearray((run / name).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (run / name).write_bytes(bytes(data))
        assert_one_line_error(cli("rl", "eval", str(run), "--agent", which), name, "digest mismatch")
    bad_map = tmp_path / "bad.txt"
    bad_map.write_text("S.#\n..\n")
    assert_one_line_error(cli("rl", "train", "--env", ENV_ID, "--map", str(bad_map), "--out", str(tmp_runs)), "row 2")


@pytest.mark.parametrize(
    ("algo", "env", "small"),
    [
        ("reinforce", "CartPole-v1", []),
        ("ppo", "Acrobot-v1", ["--n-steps", "64", "--n-envs", "4", "--batch-size", "64"]),
        ("dqn", "MountainCar-v0", ["--batch-size", "64", "--learning-starts", "100"]),
    ],
)
def test_rl_train_every_agent_from_the_cli(algo: str, env: str, small: list[str], tmp_runs: Path) -> None:
    r = cli("rl", "train", "--env", env, "--algo", algo, "--total-steps", "800", "--eval-every", "400",
            "--eval-episodes", "2", "--final-episodes", "2", *small, "--out", str(tmp_runs))  # fmt: skip
    assert r.returncode == 0, r.stderr
    run = _only_run(tmp_runs, "rl-train")
    m = json.loads((run / "summary.json").read_text())["metrics"]
    assert m["steps"] >= 800 and m["updates"] > 0 and (run / "agent.pt").is_file()
    e = cli("rl", "eval", str(run), "--episodes", "2", "--json")
    assert e.returncode == 0 and "mean_return" in json.loads(e.stdout)


@pytest.mark.parametrize(
    ("algo", "hyperparameters"),
    [("ppo", dict(n_envs=4, n_steps=32, epochs=2)),
     ("dqn", dict(n_envs=4, hidden="32", learning_starts=64, train_freq=6, gradient_steps=2, target_update=30))],
)  # fmt: skip
def test_async_vector_environments_give_the_sync_ones_steps(algo: str, hyperparameters: dict) -> None:
    """``vec="async"`` steps each copy in a worker process (AsyncVectorEnv); the same seeds make the same episodes,
    so the agent logs the same numbers and ends with the same weights as with ``vec="sync"``. DQN's train_freq
    and target_update (6, 30) are not multiples of its 4 copies' steps: a phase starts when the count passes one."""

    def trained(vec: str) -> tuple[list[tuple[int, dict[str, float]]], torch.Tensor]:
        cfg = agent_config(algo, "CartPole-v1", **hyperparameters, vec=vec)
        agent = make_agent(algo, "CartPole-v1", 3, "cpu", cfg)
        logged: list[tuple[int, dict[str, float]]] = []
        try:
            agent.learn(512, log=lambda step, scalars: logged.append((step, dict(scalars))))
        finally:
            agent.close()
        assert agent.steps >= 512 and agent.steps % hyperparameters["n_envs"] == 0
        return logged, agent.flat.detach().clone()

    (sync_log, sync_weights), (async_log, async_weights) = trained("sync"), trained("async")
    assert sync_log and [s for s, _ in sync_log] == [s for s, _ in async_log]
    assert any("losses/td_loss" in row or "losses/value_loss" in row for _, row in sync_log)  # it trained
    strip = ("charts/SPS",)  # wall-clock rates differ from run to run
    for (_, a), (_, b) in zip(sync_log, async_log, strict=True):
        assert {k: v for k, v in a.items() if k not in strip} == {k: v for k, v in b.items() if k not in strip}
    assert torch.equal(sync_weights, async_weights)
