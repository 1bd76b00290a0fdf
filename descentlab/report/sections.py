"""Report sections per experiment, built from logged runs (config, metrics, summary) only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from descentlab.report import figures
from descentlab.report.html import Section, write_report
from descentlab.runs.listing import RunRecord, load_run


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _f(x: float | None, fmt: str = ".4f") -> str:
    return "-" if x is None else format(x, fmt)


def _regime(r: RunRecord) -> str:
    regime = str(r.config.get("regime", "mini-batch"))
    return f"mini-batch {r.config.get('batch_size')}" if regime == "mini-batch" else regime


def optim_train_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Optimization in deep learning' and 'Generalization' from ``descentlab optim train`` runs."""

    def label(r: RunRecord) -> str:
        _, lrs = r.series("charts/learning_rate")
        lr = f"{lrs[0]:g}" if lrs else "?"
        return f"{r.config.get('optimizer')}, {_regime(r)}, lr={lr}"

    done = [r for r in runs if r.status == "complete"]
    rows = []
    for r in done:
        m, c = r.final(), r.config
        rows.append(
            [
                str(c.get("optimizer")),
                _regime(r),
                str(c.get("epochs")),
                f"{m.get('steps', 0):.0f}",
                _f(m.get("train/loss")),
                _pct(m.get("val/accuracy")),
                _pct(m.get("test/accuracy")),
                _f(r.train_seconds, ".1f"),
            ]
        )
    optimization = Section(
        id="optimization",
        title="Optimization in deep learning: the unit's optimizers training one network",
        concept=(
            "An optimizer turns gradients of the loss into changes of the weights; which one is used, "
            "and on how much data each gradient is computed, changes how fast and how far the loss falls. "
            "Here the same 784-256-10 network is trained by each of the unit's optimizers in its regime: "
            "gradient descent on the whole training set, stochastic gradient descent on one example at a "
            "time, the others on mini-batches of 32."
        ),
        note=(
            "The unit says mini-batch descent is faster than both SGD and full-batch descent because "
            "'fewer iterations are needed'. Per epoch it makes more updates than full-batch descent and "
            "fewer than SGD; its wall-clock advantage comes from vectorized computation and lower gradient "
            "variance (compare the two panels). Momentum's learning rate is smaller because its step for a "
            "constant gradient is lr / (1 - beta). Adam's bias corrections, which the unit omits, are applied."
        ),
        figures=[
            figures.loss_against_epochs_and_seconds(done, label, "validation loss of the unit's optimizers on MNIST")
        ]
        if done
        else [],
        table=(["optimizer", "regime", "epochs", "updates", "train loss", "val acc %", "test acc %", "train s"], rows),
        commands=[str(r.meta.get("command")) for r in done],
    )
    gap_rows = []
    for r in done:
        m = r.final()
        gap = None if "train/accuracy" not in m else m["train/accuracy"] - m.get("val/accuracy", 0.0)
        gap_rows.append(
            [
                label(r),
                _pct(m.get("train/accuracy")),
                _pct(m.get("val/accuracy")),
                _pct(m.get("test/accuracy")),
                _pct(gap),
                _f(m.get("val/loss", 0.0) - m.get("train/loss", 0.0)),
            ]
        )
    best = max(done, key=lambda r: r.final().get("val/accuracy", 0.0), default=None)
    generalization = Section(
        id="generalization",
        title="Generalization: training, validation and test sets",
        concept=(
            "A network is trained on the training set, its settings are chosen on a validation set it "
            "never trains on, and the test set is touched once, for the final number. The distance "
            "between training and validation performance is the generalization gap."
        ),
        figures=[figures.learning_curves(best)] if best is not None else [],
        table=(["run", "train acc %", "val acc %", "test acc %", "gap (train-val) pts", "val-train loss"], gap_rows),
        commands=[str(best.meta.get("command"))] if best is not None else [],
    )
    sections = [optimization, generalization]
    analysed = [r for r in done if (r.path / "hessian.json").is_file()]
    if analysed:
        sections.append(curvature_section(analysed))
    surfaces = [r for r in done if (r.path / "surface.json").is_file()]
    if surfaces:
        sections.append(surface_section(surfaces))
    return sections


def curvature_section(runs: Sequence[RunRecord]) -> Section:
    """'Curvature of a trained network' from the ``hessian.json`` that ``landscape hessian`` wrote."""
    import json

    results = [(r, json.loads((r.path / "hessian.json").read_text())) for r in runs]
    rows = [
        [
            r.path.name,
            f"{h['parameters']:,}",
            ", ".join(f"{e:.3g}" for e in h["top_eigenvalues"]),
            f"{h['trace']:.4g} +- {h['trace_stderr']:.2g}",
        ]
        for r, h in results
    ]
    return Section(
        id="curvature",
        title="Curvature of a trained network: the Hessian spectrum",
        concept=(
            "Near a minimum the loss is shaped by its Hessian: large eigenvalues are sharp directions that "
            "limit the stable learning rate, negative ones would mark a saddle. The spectrum of a trained "
            "network is a bulk near zero with a few large outliers, measured here without forming the "
            "Hessian, from Hessian-vector products."
        ),
        figures=[figures.hessian_density(h) for _, h in results[:1]],
        table=(["run", "parameters", "top eigenvalues", "trace"], rows),
        commands=[f"descentlab landscape hessian {r.path}" for r, _ in results],
    )


def race_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    """Final loss, distance to the nearest minimum (or saddle) and steps to reach it, per optimizer."""
    m, cfg = record.final(), record.config
    names = [k.split("/")[0] for k in m if k.endswith("/final_loss")]
    rows = []
    for name in names:
        steps = m.get(f"{name}/steps_to_tol", -1.0)
        rows.append(
            [
                name,
                _f(m.get(f"{name}/final_loss"), ".4g"),
                _f(m.get(f"{name}/distance"), ".4g"),
                "never" if steps < 0 else f"{steps:.0f}",
                "yes" if m.get(f"{name}/diverged") else "no",
            ]
        )
    tol = f"steps to |f - f*| <= {cfg.get('tol')}"
    return ["optimizer", "final f", "distance to nearest minimum", tol, "diverged"], rows


def optim_race_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Non-convex optimization': each race, its paths over the contours, its table."""
    import json

    sections = []
    for r in [r for r in runs if r.status == "complete"]:
        data = json.loads((r.path / "trajectories.json").read_text())
        landscape = str(r.config.get("landscape"))
        sections.append(
            Section(
                id=f"race-{landscape}",
                title=f"Non-convex optimization: the optimizers racing on {landscape}",
                concept=(
                    "Deep networks' losses are non-convex: curved valleys, plateaus, saddle points and many "
                    "local minima. On an analytic surface every optimizer starts from the same point, so "
                    "their paths show what momentum, adaptive scaling and bias correction do, as in the "
                    "unit's picture of SGD's noisy path beside momentum's."
                ),
                note=(
                    "Learning rates are each optimizer's best on a grid (lowest loss after 500 steps from "
                    "this start), so the race is fair; the table counts steps until f is within the "
                    "tolerance of the minimum."
                ),
                figures=[figures.race_paths(data)],
                table=race_table(r),
                commands=[str(r.meta.get("command"))],
            )
        )
    return sections


def saddle_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Saddle points' from ``descentlab landscape saddle`` runs."""
    import json

    from descentlab.experiments.saddle_escape import escape_table

    sections = []
    for r in [r for r in runs if r.status == "complete"]:
        data = json.loads((r.path / "escapes.json").read_text())
        sections.append(
            Section(
                id=f"saddle-{r.config.get('landscape')}",
                title=f"Saddle points: escaping the {r.config.get('landscape')}",
                concept=(
                    "At a saddle point the gradient vanishes although the point is no minimum, so gradient "
                    "descent started near its stable manifold slows down and lingers there. A step along the "
                    "Hessian's most negative eigenvector (a second-order descent direction), or noise on the "
                    "gradient, leaves it sooner."
                ),
                figures=[figures.race_paths(data)],
                table=escape_table(r),
                commands=[str(r.meta.get("command"))],
            )
        )
    return sections


def minima_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Bad local minima' from ``descentlab landscape minima`` runs."""
    import json

    from descentlab.experiments.many_starts import minima_table

    return [
        Section(
            id=f"minima-{r.config.get('landscape')}",
            title=f"Bad local minima: {r.config.get('starts')} random starts on {r.config.get('landscape')}",
            concept=(
                "Gradient descent ends in the minimum of the basin it starts in, and on a non-convex surface "
                "most basins hold poor minima. Two remedies of the unit: restart from several points and keep "
                "the best (the best of k runs falls as k grows), and add gradient noise, annealed to zero, "
                "which carries a run over the ridges between basins early on."
            ),
            figures=[figures.many_starts(json.loads((r.path / "minima.json").read_text()))],
            table=minima_table(r),
            commands=[str(r.meta.get("command"))],
        )
        for r in runs
        if r.status == "complete"
    ]


def pathology_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Flat regions' and 'High curvature' from ``descentlab landscape plateau|steep`` runs."""
    import json

    from descentlab.experiments.pathologies import PLATEAU, plateau_table, steep_table

    sections = []
    for r in [r for r in runs if r.status == "complete"]:
        data = json.loads((r.path / "pathology.json").read_text())
        if r.experiment == PLATEAU:
            sections.append(
                Section(
                    id="plateau",
                    title="Flat regions: steps to leave a plateau",
                    concept=(
                        "Where the loss is nearly flat the gradient is tiny, and so is every gradient-descent "
                        "step: the steps needed grow as fast as the gradient shrinks (here like exp(r^2/2)). "
                        "Momentum accumulates the small gradients; RMSProp and Adam divide each step by the "
                        "gradient's own recent size, so they cross a plateau at about lr per step. In networks "
                        "the same cure comes from better activations and normalization, which keep gradients "
                        "from vanishing in the first place."
                    ),
                    figures=[figures.plateau_steps(data), figures.race_paths(data)],
                    table=plateau_table(r),
                    commands=[str(r.meta.get("command"))],
                )
            )
        else:
            sections.append(
                Section(
                    id="steep",
                    title="High curvature: divergence, and clipping or adaptive steps",
                    concept=(
                        "A step size is stable only below 2 / (largest curvature). Where the curvature is "
                        "much higher than near the minimum (a steep wall or cliff), a step size chosen for "
                        "the minimum overshoots and the loss explodes. Clipping the gradient's norm bounds "
                        "every step; an adaptive method divides by the gradient's scale. Both get through."
                    ),
                    figures=[figures.race_paths(data)],
                    table=steep_table(r),
                    commands=[str(r.meta.get("command"))],
                )
            )
    return sections


def surface_section(runs: Sequence[RunRecord]) -> Section:
    """'Loss surface of a trained network' from the ``surface.json`` that ``landscape surface`` wrote."""
    import json

    from descentlab.experiments.loss_surface import barrier

    results = [(r, json.loads((r.path / "surface.json").read_text())) for r in runs]
    rows = []
    for r, s in results:
        for line in s["lines"]:
            train = line["train"]
            at = line["alphas"].index
            rows.append([r.path.name, line["name"], f"{train[at(0.0)]:.4g}", f"{train[at(1.0)]:.4g}",
                         f"{barrier(line):.4g}"])  # fmt: skip
    return Section(
        id="surface",
        title="The loss surface of a trained network",
        concept=(
            "A network's loss lives in a space of as many dimensions as it has weights, so it is plotted "
            "along a line or a plane: from the initial to the trained weights (Goodfellow et al. 2015), "
            "between two trained minima (a barrier between them would show as a bump), and on the plane "
            "of two random directions around the minimum, each direction's filters rescaled to the norms "
            "of the weights' filters so that the picture does not depend on the scale of a layer "
            "(Li et al. 2018)."
        ),
        figures=[f(s) for _, s in results[:1] for f in (figures.loss_interpolation, figures.loss_plane)],
        table=(["run", "line", "train loss at alpha 0", "at alpha 1", "barrier above the chord"], rows),
        commands=[
            f"descentlab landscape surface {r.path}" + (f" --other {s['other']}" if s["other"] else "")
            for r, s in results
        ],
    )


def dropout_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Generalization and dropout' from ``descentlab generalize mnist`` runs."""
    from descentlab.experiments.generalization import gap_table

    return [
        Section(
            id="dropout",
            title="Generalization: the same network without and with dropout",
            concept=(
                "Weights are fitted on the training set, choices are made on the validation set, and the "
                "test set is used once. A large network fits its training set better than it predicts new "
                "data: the gap between training and validation error grows as it trains. Dropout keeps each "
                "unit with probability p during training (the unit's p is the probability of keeping; "
                "PyTorch's is of dropping), so no unit can rely on particular others; it trains slower but "
                "narrows the gap."
            ),
            figures=[figures.variant_curves(r)],
            table=gap_table(r),
            commands=[str(r.meta.get("command"))],
        )
        for r in runs
        if r.status == "complete"
    ]


def time_to_target_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Optimizers on a real task' from ``descentlab generalize optimizers`` runs."""
    from descentlab.experiments.generalization import target_table

    return [
        Section(
            id="time-to-target",
            title="The unit's optimizers on MNIST: time to a validation accuracy",
            concept=(
                "An optimizer is worth what it saves in training time. As AlgoPerf scores optimizers, each "
                "of the unit's eight trains the same network in its data regime, and the score is the "
                "training time until the validation accuracy first reaches the target."
            ),
            figures=[figures.time_to_target(r)],
            table=target_table(r),
            commands=[str(r.meta.get("command"))],
        )
        for r in runs
        if r.status == "complete"
    ]


def stn_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Spatial transformer networks' from ``descentlab stn train`` runs."""
    from descentlab.experiments.stn_train import error_table, transformer_examples

    sections = []
    for r in [r for r in runs if r.status == "complete"]:
        figs = [figures.variant_curves(r, str(r.config.get("variants", "cnn,st-cnn")).split(","))]
        if (r.path / "st-cnn.pt").is_file():
            figs.insert(0, figures.transformed_digits(*transformer_examples(r)))
        sections.append(
            Section(
                id=f"stn-{r.config.get('distortion')}",
                title=f"Spatial transformer: {r.config.get('distortion')} distorted MNIST",
                concept=(
                    "A spatial transformer learns, from the image itself, where to look: a localisation "
                    "network regresses the parameters of a transform, a grid generator maps each output "
                    "pixel to a point of the input, and a bilinear sampler reads the input there. Trained "
                    "only through the classifier's loss, it learns to undo rotation, scale and translation, "
                    "so the classifier behind it sees straightened, centred digits."
                ),
                figures=figs,
                table=error_table(r),
                commands=[str(r.meta.get("command"))],
            )
        )
    return sections


def lm_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Word-level language model' from ``descentlab lm train`` runs: perplexity, the LSTM's gates on a
    sentence and a generated sample."""
    from descentlab.experiments.lm_train import gate_example, result_table, sample_text

    sections = []
    for r in [r for r in runs if r.status == "complete" and (r.path / "model.pt").is_file()]:
        figs = [figures.lm_curves(r)]
        if r.config.get("cell") == "lstm" and r.config.get("impl") != "torch":
            figs.append(figures.lstm_gates(*gate_example(r.path)))
        sample = sample_text(r.path)
        sections.append(
            Section(
                id="lm",
                title="A word-level LSTM language model",
                concept=(
                    "A language model gives each next word a probability from the words before it; its "
                    "perplexity, the exponential of the mean negative log-likelihood per word, is the number "
                    "of equally likely words it is choosing between (10,000 for a uniform guess on Penn "
                    "Treebank). The LSTM reads the text in parallel streams, 35 words at a time, carrying its "
                    "state from chunk to chunk (truncated backpropagation through time). Its gates, shown on a "
                    "validation sentence, decide at each word what to write to, keep in and show from the "
                    f"memory. A sample from the model (temperature 0.8, top 40 words):\n\n{sample}"
                ),
                figures=figs,
                table=result_table(r),
                commands=[str(r.meta.get("command")), f"descentlab lm generate {r.path} --temperature 0.8 --top-k 40"],
            )
        )
    return sections


def gradient_flow_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Vanishing and exploding gradients' from ``descentlab rnn gradient-flow`` runs."""
    from descentlab.experiments.rnn_tasks import flow_table

    return [
        Section(
            id="gradient-flow",
            title="Vanishing and exploding gradients in recurrent networks",
            concept=(
                "Backpropagation through time multiplies the gradient by the recurrent Jacobian once per "
                "step back, so in a tanh RNN it shrinks geometrically when the recurrent weights are small "
                "(vanishing: early steps get no learning signal) and grows when they are large (exploding: "
                "one update can throw the weights away). The LSTM's cell state is updated additively and "
                "scaled only by the forget gate: at initialization its forget gates sit near sigmoid(1) = "
                "0.73 and its gradient still decays, but training can hold them near 1 where memory is "
                "needed (the adding problem's figure shows a trained LSTM carrying the gradient across all "
                "100 steps). Clipping the gradient's norm keeps an exploding network's updates bounded."
            ),
            figures=[figures.gradient_flow(r)],
            table=flow_table(r),
            commands=[str(r.meta.get("command"))],
            note="The unit calls the LSTM's gates binary; they are sigmoids with values in (0, 1).",
        )
        for r in runs
        if r.status == "complete"
    ]


def adding_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Long-range memory' from ``descentlab rnn adding`` runs."""
    from descentlab.experiments.rnn_tasks import adding_table

    return [
        Section(
            id="adding",
            title="Long-range memory: the adding problem",
            concept=(
                "Two numbers marked among T inputs must be remembered until the end and added. Always "
                "answering 1 scores a mean squared error of 0.167; a network that does better has carried "
                "information across the gap. The trained models' gradients show why the LSTM can learn it."
            ),
            figures=[figures.adding_curves(r)],
            table=adding_table(r),
            commands=[str(r.meta.get("command"))],
        )
        for r in runs
        if r.status == "complete"
    ]


def topology_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Recurrent topologies' from ``descentlab rnn topology`` runs."""
    from descentlab.experiments.rnn_tasks import topology_table

    return [
        Section(
            id=f"topology-{r.config.get('task')}",
            title=f"Recurrent topology: {r.config.get('task')}",
            concept=(
                "One to one is a feed-forward network; one to many feeds each output back as the next "
                "input (captioning); many to one reads a sequence and answers once (classification); many "
                "to many reads one sequence and writes another (translation, with an encoder and decoder)."
            ),
            figures=[figures.topology_figure(r)],
            table=topology_table(r),
            commands=[str(r.meta.get("command"))],
        )
        for r in runs
        if r.status == "complete"
    ]


def rl_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Reinforcement learning' from ``descentlab rl train`` runs: the route agent before and after
    learning on GridRoute, the return curve elsewhere (CartPole, LunarLander, ...)."""
    from descentlab.experiments.rl_train import GRID, result_table, route_pictures

    sections = []
    for r in [r for r in runs if r.status == "complete" and (r.path / "agent.pt").is_file()]:
        env, algo = str(r.config.get("env")), str(r.config.get("algo"))
        figs = [figures.rl_curves(r)]
        if env == GRID:
            figs.insert(0, figures.route_figure(route_pictures(r.path)))
            concept = (
                "Reinforcement learning is learning by trial and error: the agent acts, the environment "
                "answers with a reward, and actions that led to good outcomes become more likely. Here the "
                "unit's example: find the shortest route between two points of a map. Effectiveness is the "
                "optimal path length (breadth-first search) over the steps taken: 100% is a shortest route. "
                f"The {algo} agent was trained with {r.config.get('reward')} reinforcement; the pictures show "
                "the same episodes before learning and after (blue: the path taken; green: a shortest path)."
            )
            note = ("The unit calls a per-step cost negative reinforcement; behaviourally that removes an aversive "
                    "condition (here the cost stops at the goal) and is not punishment.")  # fmt: skip
        else:
            concept = (
                f"{algo.upper() if algo != 'reinforce' else 'REINFORCE'} on {env}: the return of each training "
                "episode (what the agent gets while still exploring) and of greedy evaluations (the policy's "
                "best action each step). Deep RL replaces the table of values or action preferences by a neural "
                "network, so one agent can act in states it has never seen."
            )
            note = ""
        sections.append(
            Section(
                id=f"rl-{env.split('/')[-1].lower()}-{algo}",
                title=f"Reinforcement learning: {algo} on {env}",
                concept=concept,
                figures=figs,
                table=result_table(r),
                commands=[
                    str(r.meta.get("command")),
                    f"descentlab rl eval {r.path} --episodes 100",
                    f"descentlab rl play {r.path} --out episode.gif",
                ],
                note=note,
            )
        )
    return sections


def rl_rewards_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Positive against negative reinforcement' from ``descentlab rl rewards`` runs."""
    from descentlab.experiments.rl_train import rewards_table

    return [
        Section(
            id="rl-rewards",
            title="Positive against negative reinforcement",
            concept=(
                "The same agent learns the same map twice. Positive reinforcement rewards the favourable "
                "outcome: reaching the goal, scaled by effectiveness. Negative reinforcement takes an aversive "
                "condition away: every step costs until the goal is reached, so reaching it sooner is what is "
                "reinforced. The cost is felt at every step, so it guides the agent long before it first "
                "finds the goal, and untried actions look better than tried ones (zero-initialized values are "
                "optimistic); the goal reward is felt only at the goal and depends on the whole path so far."
            ),
            figures=[figures.reward_scheme_curves(r)],
            table=rewards_table(r),
            commands=[str(r.meta.get("command"))],
        )
        for r in runs
        if r.status == "complete"
    ]


def snn_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Spiking networks' from ``descentlab neuro train-snn`` runs: the SNN against the same-size ANN."""
    from descentlab.experiments.snn_train import comparison_table

    return [
        Section(
            id="snn",
            title="A spiking network learns MNIST",
            concept=(
                "Biological neurons integrate their input on a leaky membrane and communicate with spikes. A "
                "layer of leaky integrate-and-fire neurons does the same in discrete time; because a spike is "
                "a step function, training uses a surrogate gradient, a smooth stand-in for the step's "
                "derivative, and backpropagation through the time steps. The table sets the spiking network "
                "beside the artificial network of the same size: its accuracy, and its work counted as "
                "synaptic operations (one per spike per outgoing synapse) against multiply-accumulates."
            ),
            figures=[figures.variant_curves(r, str(r.config.get("variants", "snn,ann")).split(","))],
            table=comparison_table(r),
            commands=[str(r.meta.get("command"))],
        )
        for r in runs
        if r.status == "complete"
    ]


def neuron_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Neuron models' from ``descentlab neuro patterns`` runs."""
    from descentlab.experiments.neuro_runs import patterns_table
    from descentlab.runs import load_checkpoint

    return [
        Section(
            id="neuro-patterns",
            title="Neuron models: Izhikevich's firing patterns and the Hodgkin-Huxley spike",
            concept=(
                "An artificial unit computes a weighted sum and a fixed nonlinearity; a biological neuron "
                "integrates current on its membrane and fires. Hodgkin and Huxley (1952) described the squid "
                "axon's spike with sodium and potassium conductances: the membrane jumps to about +40 mV and "
                "undershoots rest after it. Izhikevich (2003) reproduced the cortex's firing patterns with two "
                "variables and four parameters: regular spiking adapts, intrinsically bursting starts with a "
                "burst, chattering fires bursts again and again, fast spiking does not adapt, low-threshold "
                "spiking adapts from a high rate."
            ),
            figures=[figures.neuron_patterns(load_checkpoint(r.path / "traces.pt"), r.config)],
            table=patterns_table(r),
            commands=[str(r.meta.get("command"))],
        )
        for r in runs
        if r.status == "complete" and (r.path / "traces.pt").is_file()
    ]


def plasticity_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Learning rules of the brain' from ``descentlab neuro plasticity`` runs."""
    from descentlab.experiments.neuro_runs import plasticity_table, stdp_result

    return [
        Section(
            id="stdp",
            title="Plasticity: Oja's rule and spike-timing-dependent plasticity",
            concept=(
                "Backpropagation has no known counterpart in the brain; local rules do. Hebb's rule strengthens "
                "a synapse whose input and output are active together, and Oja's decay term keeps it bounded, "
                "so a single neuron learns the first principal component of its inputs. Spike-timing-dependent "
                "plasticity strengthens a synapse whose spike arrives just before the neuron fires and weakens "
                "one that arrives just after: here the synapses carrying a repeated pattern hidden in noise "
                "grow, the others fade, and the neuron comes to fire when the pattern appears."
            ),
            figures=[figures.stdp_weights(stdp_result(r))],
            table=plasticity_table(r),
            commands=[str(r.meta.get("command"))],
        )
        for r in runs
        if r.status == "complete" and (r.path / "stdp.pt").is_file()
    ]


def generic_sections(experiment: str, runs: Sequence[RunRecord]) -> list[Section]:
    """A plain section for an experiment without its own: each run's final metrics."""
    rows = [[r.path.name, r.status, " ".join(f"{k}={v:.4g}" for k, v in sorted(r.final().items()))] for r in runs]
    return [
        Section(
            id=f"exp-{experiment}",
            title=f"Experiment {experiment}",
            concept=f"Runs of the experiment {experiment}.",
            table=(["run", "status", "final metrics"], rows),
            commands=[str(r.meta.get("command")) for r in runs],
        )
    ]


SECTION_BUILDERS: dict[str, Callable[[Sequence[RunRecord]], list[Section]]] = {
    "optim-train": optim_train_sections,
    "optim-race": optim_race_sections,
    "landscape-saddle": saddle_sections,
    "landscape-minima": minima_sections,
    "landscape-plateau": pathology_sections,
    "landscape-steep": pathology_sections,
    "generalize-mnist": dropout_sections,
    "generalize-optimizers": time_to_target_sections,
    "stn-train": stn_sections,
    "lm-train": lm_sections,
    "rnn-gradient-flow": gradient_flow_sections,
    "rnn-adding": adding_sections,
    "rnn-topology": topology_sections,
    "rl-train": rl_sections,
    "rl-rewards": rl_rewards_sections,
    "neuro-train-snn": snn_sections,
    "neuro-patterns": neuron_sections,
    "neuro-plasticity": plasticity_sections,
}


def build_sections(runs: Sequence[RunRecord]) -> list[Section]:
    by_experiment: dict[str, list[RunRecord]] = {}
    for r in runs:
        by_experiment.setdefault(r.experiment, []).append(r)
    sections: list[Section] = []
    for experiment, group in by_experiment.items():
        builder = SECTION_BUILDERS.get(experiment)
        sections += builder(group) if builder else generic_sections(experiment, group)
    return sections


def build_report(run_dirs: Sequence[str | Path], out: str | Path, title: str = "descentlab report") -> Path:
    """Build the HTML report of the runs in ``run_dirs`` at ``out``."""
    runs = [load_run(p) for p in run_dirs]
    subtitle = f"{len(runs)} run(s) of the unit 'Optimization and Generalization'."
    return write_report(build_sections(runs), out, title, subtitle)
