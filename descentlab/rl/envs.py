"""GridRoute: the unit's shortest-route problem as a Gymnasium environment.

The unit's example of reinforcement learning is finding the shortest route between two points on a map,
scored by its *effectiveness*, a percentage. Here the map is a grid of free cells and walls; the agent
starts on one free cell, the goal is another, and each step moves it up, right, down or left (a move
into a wall or off the map leaves it where it is). An episode ends at the goal (terminated) or after
``max_steps`` steps (truncated).

Effectiveness of a finished episode = optimal path length / steps taken, in (0, 1]; the optimal length
comes from breadth-first search. An episode that runs out of steps has effectiveness 0.

Rewards, chosen by name (``reward=``):

* ``positive`` - positive reinforcement: ``goal_reward * effectiveness`` on reaching the goal, else 0.
* ``negative`` - negative reinforcement: ``-step_cost`` every step and ``-wall_cost`` more for a move
  into a wall. In behavioural terms negative reinforcement *removes* an aversive condition (it is not
  punishment; docs/errata.md): here the per-step cost stops when the goal is reached, so reaching it sooner
  is what is reinforced.
* ``both`` - the sum of the two.

The observation is three ``height x width`` planes of 0/1 (float32): walls, the agent, the goal.

Maps are text, one row per line: ``#`` wall, ``.`` free, ``S`` start, ``G`` goal (both optional), or
are generated from a seed with obstacles everywhere except one connected region of free cells, so a
path always exists between any two free cells.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from descentlab.errors import ParameterError, UserError

REWARDS = ("positive", "negative", "both")
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # actions 0..3: up, right, down, left
ACTION_NAMES = ("up", "right", "down", "left")
Cell = tuple[int, int]


# ---- maps --------------------------------------------------------------------------------------


MAX_SIDE = 64  # a map's rows and columns, as for a generated one: the agents' tables and networks grow with it


def parse_map(text: str, source: str = "map") -> tuple[np.ndarray, Cell | None, Cell | None]:
    """``(walls, start, goal)`` from a text map; ``walls`` is a bool array, start/goal may be None."""
    rows = [line.strip() for line in text.splitlines() if line.strip()]
    if not rows:
        raise UserError(f"{source}: empty map; write one row per line with # (wall) . (free) S (start) G (goal)")
    width = len(rows[0])
    if len(rows) > MAX_SIDE or width > MAX_SIDE:
        raise UserError(
            f"{source}: a {len(rows)} x {width} map; valid: at most {MAX_SIDE} rows of at most {MAX_SIDE} cells"
        )
    start = goal = None
    walls = np.zeros((len(rows), width), dtype=bool)
    for r, row in enumerate(rows):
        if len(row) != width:
            raise UserError(f"{source}: row {r + 1} has {len(row)} cells, the first has {width}; rows must be equal")
        for c, ch in enumerate(row):
            if ch not in "#.SG":
                raise UserError(f"{source}: row {r + 1} has {ch!r}; valid cells: # (wall) . (free) S (start) G (goal)")
            walls[r, c] = ch == "#"
            if ch in "SG" and (start if ch == "S" else goal) is not None:
                raise UserError(f"{source}: a second {ch} at row {r + 1}, column {c + 1}; a map has at most one start "
                                "(S) and one goal (G)")  # fmt: skip
            if ch == "S":
                start = (r, c)
            elif ch == "G":
                goal = (r, c)
    if (~walls).sum() < 2:
        raise UserError(f"{source}: the map needs at least two free cells")
    return walls, start, goal


def read_map(path: str | Path) -> tuple[np.ndarray, Cell | None, Cell | None]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ParameterError("map", f"{path}: cannot read the map file ({getattr(e, 'strerror', None) or e})") from None
    return parse_map(text, str(path))


def generate_map(height: int, width: int, obstacles: float, seed: int) -> np.ndarray:
    """A ``height x width`` map with about ``obstacles`` of its cells walls, all free cells connected.

    Walls are drawn independently; then every free cell outside the largest connected free region is
    turned into a wall, so any two free cells are joined by a path.
    """
    if not 0.0 <= obstacles < 0.7:
        raise ParameterError("obstacles", f"{obstacles} is out of range; valid: 0 <= obstacles < 0.7")
    rng = np.random.default_rng(seed)
    walls = rng.random((height, width)) < obstacles
    free = _cells(~walls)
    best: set[Cell] = set()
    seen: set[Cell] = set()
    for cell in free:
        if cell not in seen:
            region = set(distances(walls, cell))
            seen |= region
            if len(region) > len(best):
                best = region
    keep = np.ones_like(walls)
    for r, c in best:
        keep[r, c] = False
    if len(best) < 2:
        raise UserError(f"a {height}x{width} map with obstacles {obstacles} left fewer than two connected free cells")
    return keep


def _cells(mask: np.ndarray) -> list[Cell]:
    """The ``(row, col)`` of every True entry, in reading order."""
    return [(int(r), int(c)) for r, c in np.argwhere(mask)]


def components(walls: np.ndarray) -> dict[Cell, int]:
    """The connected region of every free cell (moving up, right, down, left), numbered from 0."""
    region: dict[Cell, int] = {}
    labels = 0
    for cell in _cells(~walls):
        if cell not in region:
            region.update(dict.fromkeys(distances(walls, cell), labels))
            labels += 1
    return region


def distances(walls: np.ndarray, source: Cell) -> dict[Cell, int]:
    """Breadth-first search: the number of moves from ``source`` to every reachable free cell."""
    dist = {source: 0}
    queue = deque([source])
    height, width = walls.shape
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES:
            nxt = (r + dr, c + dc)
            if 0 <= nxt[0] < height and 0 <= nxt[1] < width and not walls[nxt] and nxt not in dist:
                dist[nxt] = dist[(r, c)] + 1
                queue.append(nxt)
    return dist


def shortest_path(walls: np.ndarray, start: Cell, goal: Cell, dist: dict[Cell, int] | None = None) -> list[Cell]:
    """One shortest path from ``start`` to ``goal`` (both included), by walking down the BFS distances
    (``dist``: the distances to ``goal``, when already computed)."""
    dist = distances(walls, goal) if dist is None else dist
    if start not in dist:
        return []
    path = [start]
    while path[-1] != goal:
        r, c = path[-1]
        path.append(min(((r + dr, c + dc) for dr, dc in MOVES), key=lambda cell: dist.get(cell, 1 << 30)))
    return path


# ---- the environment ---------------------------------------------------------------------------


class GridRoute(gym.Env[np.ndarray, np.int64]):
    """Find the shortest route from start to goal on a grid map (registered as ``descentlab/GridRoute-v0``).

    Args:
        map: a text map (see the module docstring) or a path to one; None generates one from ``map_seed``.
        size: ``(height, width)`` of a generated map.
        obstacles: fraction of a generated map's cells drawn as walls (before unreachable cells are filled).
        map_seed: seed of the generated map (the map is fixed for the environment's life).
        start, goal: fixed cells ``(row, col)``; None takes the map's S/G or, failing that, draws a new
            free cell each episode (start and goal always differ).
        reward: ``positive``, ``negative`` or ``both`` (module docstring).
        max_steps: episode limit; None means ``4 * (height + width)``, raised to 3 times the optimal
            length for episodes whose route is longer.
        render_mode: ``rgb_array`` (map, path taken in blue, an optimal path in green) or ``ansi``.
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 8}  # noqa: RUF012

    def __init__(
        self,
        map: str | Path | None = None,
        size: Sequence[int] = (10, 10),
        obstacles: float = 0.2,
        map_seed: int = 0,
        start: Sequence[int] | None = None,
        goal: Sequence[int] | None = None,
        reward: str = "both",
        max_steps: int | None = None,
        goal_reward: float = 1.0,
        step_cost: float = 0.1,
        wall_cost: float = 0.2,
        render_mode: str | None = None,
    ) -> None:
        if reward not in REWARDS:
            raise ParameterError("reward", f"{reward!r} is not valid; valid: one of {', '.join(REWARDS)}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ParameterError(
                "render_mode", f"{render_mode!r} is not valid; valid: {', '.join(self.metadata['render_modes'])}"
            )
        map_start = map_goal = None
        if map is None:
            if len(size) != 2 or not all(2 <= int(s) <= 64 for s in size):
                raise ParameterError(
                    "size", f"{tuple(size)} is not valid; valid: two integers from 2 to 64 (height, width)"
                )
            self.walls = generate_map(int(size[0]), int(size[1]), obstacles, map_seed)
        elif isinstance(map, Path) or "\n" not in str(map):
            self.walls, map_start, map_goal = read_map(map)
        else:
            self.walls, map_start, map_goal = parse_map(str(map))
        self.height, self.width = self.walls.shape
        self._dist_cache: dict[Cell, dict[Cell, int]] = {}  # BFS distances to each goal met so far
        self.free = _cells(~self.walls)
        self.fixed_start = self._cell(start, "start") if start is not None else map_start
        self.fixed_goal = self._cell(goal, "goal") if goal is not None else map_goal
        if self.fixed_start is not None and self.fixed_start == self.fixed_goal:
            raise UserError(f"start and goal are the same cell {self.fixed_start}; they must differ")
        fixed = self.fixed_start is not None and self.fixed_goal is not None
        if fixed and self.fixed_start not in self._distances_to(self.fixed_goal):  # type: ignore[arg-type]
            raise UserError(f"no path from start {self.fixed_start} to goal {self.fixed_goal} on this map")
        # the goals an episode may draw: cells with another free cell reachable (from the fixed start, if any)
        if self.fixed_start is not None:
            self.goals = [c for c in self._distances_to(self.fixed_start) if c != self.fixed_start]
        else:
            region = components(self.walls)
            members = Counter(region.values())
            self.goals = [c for c in self.free if members[region[c]] > 1]
        if not self.goals:
            raise UserError("no two free cells of this map are connected; an episode needs a reachable goal")
        self.reward_scheme = reward
        self.max_steps = int(max_steps) if max_steps is not None else None
        if self.max_steps is not None and self.max_steps < 1:
            raise ParameterError("max_steps", f"{max_steps} is out of range; valid: an integer >= 1")
        self.goal_reward, self.step_cost, self.wall_cost = float(goal_reward), float(step_cost), float(wall_cost)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, (3, self.height, self.width), np.float32)
        self.action_space = spaces.Discrete(4)
        self.agent: Cell = self.free[0]
        self.goal: Cell = self.free[1]
        self.path: list[Cell] = []
        self.optimal = 0
        self.limit = 1

    def _cell(self, cell: Sequence[int], name: str) -> Cell:
        if len(cell) != 2:
            raise ParameterError(name, f"{tuple(cell)} is not valid; valid: two integers (row, col)")
        rc = (int(cell[0]), int(cell[1]))
        if not (0 <= rc[0] < self.height and 0 <= rc[1] < self.width) or self.walls[rc]:
            raise ParameterError(name, f"{rc}: not a free cell of the {self.height}x{self.width} map")
        return rc

    # ---- the Gymnasium API ---------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if self.fixed_goal is not None:
            self.goal = self.fixed_goal
        else:
            self.goal = self.goals[int(self.np_random.integers(len(self.goals)))]
        dist = self._distances_to(self.goal)
        if self.fixed_start is not None:
            self.agent = self.fixed_start
        else:  # a free cell with a path to the goal (all of them on a generated map)
            reachable = [c for c in self.free if c in dist and c != self.goal]
            if not reachable:
                raise UserError(f"goal {self.goal} has no reachable free cell")
            self.agent = reachable[int(self.np_random.integers(len(reachable)))]
        self.optimal = dist[self.agent]
        # the episode limit: max_steps, or by default 4 x (height + width) and at least 3 x the optimal length
        self.limit = self.max_steps or max(4 * (self.height + self.width), 3 * self.optimal)
        self.path = [self.agent]
        self.steps = 0
        return self._observation(), {"optimal_length": self.optimal}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r}: valid: 0 (up), 1 (right), 2 (down), 3 (left)")
        dr, dc = MOVES[int(action)]
        r, c = self.agent[0] + dr, self.agent[1] + dc
        bumped = not (0 <= r < self.height and 0 <= c < self.width) or bool(self.walls[r, c])
        if not bumped:
            self.agent = (r, c)
        self.steps += 1
        self.path.append(self.agent)
        terminated = self.agent == self.goal
        truncated = not terminated and self.steps >= self.limit
        effectiveness = self.optimal / self.steps if terminated else 0.0
        reward = 0.0
        if self.reward_scheme in ("positive", "both") and terminated:
            reward += self.goal_reward * effectiveness  # positive reinforcement of a good outcome
        if self.reward_scheme in ("negative", "both"):
            reward -= self.step_cost + (self.wall_cost if bumped else 0.0)  # the aversive cost, until the goal
        info: dict[str, Any] = {"optimal_length": self.optimal}
        if terminated or truncated:
            info |= {"effectiveness": effectiveness, "path_length": self.steps, "is_success": terminated}
        return self._observation(), reward, terminated, truncated, info

    def _distances_to(self, goal: Cell) -> dict[Cell, int]:
        if goal not in self._dist_cache:  # one BFS per goal cell, kept for the environment's life
            self._dist_cache[goal] = distances(self.walls, goal)
        return self._dist_cache[goal]

    def _observation(self) -> np.ndarray:
        obs = np.zeros((3, self.height, self.width), dtype=np.float32)
        obs[0] = self.walls
        obs[1][self.agent] = 1.0
        obs[2][self.goal] = 1.0
        return obs

    def render(self) -> Any:
        if self.render_mode == "ansi":
            return self.render_text()
        if self.render_mode == "rgb_array":
            return self.render_rgb()
        return None

    # ---- pictures ----------------------------------------------------------------------------
    def render_text(self) -> str:
        """The map with ``*`` on the path so far, ``A`` the agent, ``G`` the goal."""
        rows = [["#" if w else "." for w in row] for row in self.walls]
        for r, c in self.path:
            rows[r][c] = "*"
        rows[self.goal[0]][self.goal[1]] = "G"
        rows[self.agent[0]][self.agent[1]] = "A"
        return "\n".join("".join(row) for row in rows) + "\n"

    def render_rgb(self, cell: int = 16) -> np.ndarray:
        """An RGB image: walls dark, an optimal path green, the path taken blue, agent red, goal gold."""
        image = np.full((self.height * cell, self.width * cell, 3), 245, dtype=np.uint8)

        def paint(rc: Cell, color: tuple[int, int, int], inset: int = 0) -> None:
            r, c = rc
            image[r * cell + inset : (r + 1) * cell - inset, c * cell + inset : (c + 1) * cell - inset] = color

        for wall in _cells(self.walls):
            paint(wall, (60, 60, 70))
        start = self.path[0] if self.path else self.agent
        for step in shortest_path(self.walls, start, self.goal, self._distances_to(self.goal)):
            paint(step, (170, 225, 170), cell // 8)
        for step in self.path:
            paint(step, (90, 140, 230), cell // 4)
        paint(self.goal, (230, 180, 30), cell // 8)
        paint(self.agent, (220, 50, 50), cell // 4)
        image[::cell, :] = image[:, ::cell] = 200  # grid lines
        return image


ENV_ID = "descentlab/GridRoute-v0"


def register() -> None:
    """Register ``descentlab/GridRoute-v0`` with Gymnasium (done on importing ``descentlab.rl``)."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="descentlab.rl.envs:GridRoute")
