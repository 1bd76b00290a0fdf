"""``descentlab rl play RUN``: a trained agent's episodes as frames, written to a GIF, or as text for GridRoute."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from descentlab.config import Options, param
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Call, Command
from descentlab.experiments.rl.common import AGENT_CHOICE, episode_frames, load_agent
from descentlab.runs import atomic_write_bytes


@dataclass(frozen=True)
class PlayOptions(Options):
    run_dir: str = param("", "a descentlab rl train run folder", positional=True, metavar="RUN_DIR")
    agent: str = AGENT_CHOICE
    out: str = param(None, "the GIF to write", metavar="FILE.gif", required=True)
    seed: int = param(0, "episode seed", low=0, high=2**31 - 1)
    fps: int = param(8, "frames per second", low=1, high=60)
    max_steps: int = param(500, "at most this many steps", low=1, high=100_000)

    def __post_init__(self) -> None:
        super().__post_init__()
        out = Path(self.out)
        if out.suffix.lower() != ".gif":
            raise ParameterError("out", f"{out}: the animation is a GIF; give a name ending in .gif")
        if not out.parent.is_dir():
            raise ParameterError("out", f"{out}: folder {out.parent} does not exist")


def run_play(call: Call) -> int:
    opts: PlayOptions = call.options
    agent, cfg = load_agent(opts.run_dir, opts.agent)
    frames, total, info = episode_frames(agent, cfg, opts.seed, opts.max_steps)
    images = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / opts.fps), loop=0)
    atomic_write_bytes(Path(opts.out), buf.getvalue())
    text = f"{opts.out}: {len(frames) - 1} steps, return {total:.2f}"
    if "effectiveness" in info:
        text += f", effectiveness {100 * info['effectiveness']:.0f}% (optimal {info['optimal_length']} steps)"
    print(text)
    return 0


RL_PLAY = Command(
    command="rl play",
    help="one greedy episode as an animated GIF",
    description="Render one greedy episode of a trained agent frame by frame into a GIF.",
    examples=("descentlab rl play runs/rl-train/gridroute-dqn-both__0__20261126-120000 --out route.gif",),
    run=run_play,
    options=PlayOptions,
)
