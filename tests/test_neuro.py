"""descentlab.neuro's neuron models against closed forms and published behaviour."""

from __future__ import annotations

import math

import pytest
import torch

from descentlab.errors import ParameterError
from descentlab.neuro import LIF, PATTERNS, HodgkinHuxley, Izhikevich, Reset, simulate


def _isis(spikes: torch.Tensor, dt: float) -> list[float]:
    """Inter-spike intervals (ms) of one neuron's spike train."""
    times = torch.nonzero(spikes).flatten().double() * dt
    return (times[1:] - times[:-1]).tolist()


def test_lif_membrane_follows_its_closed_form() -> None:
    """Below threshold V(t) = R I (1 - exp(-t / tau)) from rest at 0; exact at any dt (to 1e-12)."""
    for dt in (0.1, 0.37, 1.0):
        lif = LIF(tau_m=10.0, threshold=10.0, resistance=2.0, dt=dt)
        rec, count = simulate(lif, 3.0, duration=50.0)
        assert rec is not None and int(count) == 0
        expected = 2.0 * 3.0 * (1 - torch.exp(-rec.t / 10.0))
        torch.testing.assert_close(rec.v[:, 0], expected, rtol=0, atol=1e-12)


def test_lif_rate_matches_the_closed_form_f_i_curve() -> None:
    """Period T = tau ln(I / (I - threshold)) (R = 1, reset to 0, no refractory period). A spike lands on the
    first step past the crossing, so each simulated period is T rounded up to a whole number of steps:
    the spike count equals that exactly, and the rate is within dt / T of the closed form."""
    dt, duration = 0.01, 500.0
    lif = LIF(tau_m=10.0, threshold=1.0, dt=dt)
    currents = [1.05, 1.2, 1.5, 2.0, 4.0]
    _, counts = simulate(lif, torch.tensor(currents, dtype=torch.float64), duration, n=5, record=False)
    for current, count in zip(currents, counts.tolist(), strict=True):
        period = 10.0 * math.log(current / (current - 1.0))
        assert count == math.floor(round(duration / dt) / math.ceil(period / dt - 1e-9))
        assert 1000.0 * count / duration == pytest.approx(1000.0 / period, rel=dt / period + 2 * period / duration)
        assert lif.rate(current) == pytest.approx(1000.0 / period)
    _, silent = simulate(lif, 0.99, duration=200.0, record=False)
    assert int(silent) == 0  # below threshold: never fires


def test_lif_refractory_period_and_reset_modes() -> None:
    refractory = LIF(tau_m=10.0, threshold=1.0, refractory=5.0, dt=0.05)
    _, count = simulate(refractory, 2.0, duration=500.0, record=False)
    assert float(count) / 0.5 == pytest.approx(refractory.rate(2.0), rel=0.03)  # period + 5 ms; dt / period < 1%
    subtract = LIF(tau_m=10.0, threshold=1.0, reset=Reset.SUBTRACT, dt=1.0)
    state = subtract.init(1)
    state, spikes = subtract.step(state, 30.0)  # V jumps to 30 (1 - e^-0.1) = 2.855 > 1
    assert bool(spikes) and float(state.v) == pytest.approx(30 * (1 - math.exp(-0.1)) - 1.0)
    with pytest.raises(ValueError, match=r"tau_m: 0.0 is out of range; valid: a number > 0 \(ms\)") as info:
        LIF(tau_m=0.0)
    assert isinstance(info.value, ParameterError) and info.value.name == "tau_m"


def test_hodgkin_huxley_spike_shape_and_threshold() -> None:
    hh = HodgkinHuxley(dt=0.025)
    currents = torch.tensor([1.0, 10.0, 20.0, 40.0], dtype=torch.float64)  # uA/cm^2
    rec, counts = simulate(hh, currents, duration=150.0, n=4)
    assert rec is not None
    assert int(counts[0]) == 0  # below threshold it stays silent
    assert float(rec.v[:, 0].max()) < -55.0
    assert int(counts[1]) >= 5  # repetitive firing at 10 uA/cm^2
    assert 30.0 < float(rec.v[:, 1].max()) < 50.0  # the action potential peaks near +40 mV
    assert float(rec.v[-1000:, 1].min()) < -70.0  # and undershoots rest (-65) after each spike
    assert int(counts[1]) < int(counts[2]) < int(counts[3])  # more current, faster firing


def test_izhikevich_patterns() -> None:
    """Izhikevich (2003), Fig. 2: each parameter set's signature under a step of I = 10."""
    dt = 0.1
    isis = {}
    for name in PATTERNS:
        rec, _ = simulate(Izhikevich.pattern(name, dt=dt), 10.0, duration=500.0)
        assert rec is not None
        isis[name] = _isis(rec.spikes[:, 0], dt)
    rs, ib, ch, fs, lts = (isis[k] for k in PATTERNS)
    assert rs[-1] > 1.5 * rs[0]  # regular spiking: frequency adaptation
    assert ib[0] < 10 and min(ib[3:]) > 3 * max(ib[:2])  # intrinsically bursting: a burst, then single spikes
    short = [i for i in ch if i < 10]
    long = [i for i in ch if i > 20]
    assert len(short) > 5 and len(long) > 3  # chattering: repeated bursts of closely spaced spikes
    assert len(fs) > 4 * len(rs) and fs[-1] < 1.1 * fs[3]  # fast spiking: fast, little adaptation after the onset
    assert len(lts) > len(rs) and lts[-1] > lts[0]  # low-threshold spiking: fast, with adaptation
    with pytest.raises(ValueError, match="pattern: 'bursty' is not valid; valid: one of regular-spiking"):
        Izhikevich.pattern("bursty")


def test_models_run_vectorized_over_neurons() -> None:
    currents = torch.linspace(0.0, 20.0, 64)
    for model in (LIF(dt=0.1), Izhikevich.pattern("regular-spiking"), HodgkinHuxley(dt=0.025)):
        _, counts = simulate(model, currents, duration=30.0, n=64, record=False)
        one = [int(simulate(model, float(currents[k]), duration=30.0, record=False)[1]) for k in (0, 40, 63)]
        assert [int(counts[k]) for k in (0, 40, 63)] == one


# ---- spiking layers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snntorch(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """snnTorch installed for this test only (into a temporary folder, never a dependency of descentlab)."""
    import importlib
    import subprocess
    import sys

    target = tmp_path_factory.mktemp("snntorch")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--target", str(target), "snntorch==1.0.0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sys.path.insert(0, str(target))
    try:
        yield importlib.import_module("snntorch")
    finally:
        sys.path.remove(str(target))


@pytest.mark.e2e  # pip installs snnTorch for the module
@pytest.mark.parametrize("surrogate", ["atan", "fast-sigmoid"])
def test_leaky_equals_snntorch(snntorch, surrogate: str) -> None:  # type: ignore[no-untyped-def]
    """Membrane, spikes and input gradients of our Leaky against snnTorch's Leaky (reset by subtraction;
    beta 0.875, exact in float32 as snnTorch stores it), 20 steps, float64: membranes within 1e-12, spikes
    identical, input gradients within 1e-6 (snnTorch's spikes are float32 tensors, ``(x > 0).float()``, so
    the gradient flowing back through them is rounded to float32; the largest difference seen is 1.4e-7)."""
    from snntorch import surrogate as sg

    from descentlab.neuro.snn import Leaky

    torch.manual_seed(0)
    current = (torch.rand(20, 4, 16, dtype=torch.float64) * 0.6).requires_grad_()
    theirs_grad = sg.atan(alpha=2.0) if surrogate == "atan" else sg.fast_sigmoid(slope=25)
    theirs = snntorch.Leaky(beta=0.875, threshold=1.0, spike_grad=theirs_grad, reset_mechanism="subtract")
    ours = Leaky(beta=0.875, threshold=1.0, surrogate=surrogate)
    mem_t = theirs.init_leaky()
    mem_o = ours.init_mem(current[0])
    spk_t, spk_o, mems_t, mems_o = [], [], [], []
    for t in range(20):
        s_t, mem_t = theirs(current[t], mem_t)
        s_o, mem_o = ours(current[t], mem_o)
        spk_t.append(s_t)
        spk_o.append(s_o)
        mems_t.append(mem_t)
        mems_o.append(mem_o)
    assert torch.equal(torch.stack(spk_t), torch.stack(spk_o))
    assert float(torch.stack(spk_o).detach().sum()) > 20  # the layer does fire
    torch.testing.assert_close(torch.stack(mems_o), torch.stack(mems_t), rtol=0, atol=1e-12)
    weights = torch.randn(20, 4, 16, dtype=torch.float64)
    (g_t,) = torch.autograd.grad((torch.stack(spk_t) * weights).sum() + torch.stack(mems_t).sum(), current)
    (g_o,) = torch.autograd.grad((torch.stack(spk_o) * weights).sum() + torch.stack(mems_o).sum(), current)
    torch.testing.assert_close(g_o, g_t, rtol=0, atol=1e-6)
    assert float(g_o.abs().max()) > 0.1  # the surrogate does carry gradient


def test_encodings() -> None:
    from descentlab.neuro.snn import latency_encode, rate_encode

    x = torch.tensor([0.0, 0.25, 0.5, 1.0])
    spikes = rate_encode(x.expand(4000, 4), 1, torch.Generator().manual_seed(0))[0]
    torch.testing.assert_close(spikes.mean(0), x, rtol=0, atol=0.03)  # Bernoulli(x): sd <= 0.008
    lat = latency_encode(x, steps=10)
    assert lat.sum(0).tolist() == [0.0, 1.0, 1.0, 1.0]  # one spike each, none for 0
    first = lat.argmax(0)
    assert first[3] < first[2] < first[1]  # larger values fire earlier


# ---- commands ------------------------------------------------------------------------------------


def test_neuro_simulate_json_and_figure(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from conftest import cli

    r = cli("neuro", "simulate", "--model", "lif", "--tau-m", "10", "--threshold", "1", "--current", "1.5",
            "--duration", "1000", "--dt", "0.05", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    closed = 1000.0 / (10.0 * math.log(1.5 / 0.5))  # 91.02 Hz
    assert out["closed_form_rate_hz"] == pytest.approx(closed)
    assert out["rate_hz"] == pytest.approx(closed, abs=1.5)  # whole spikes in 1 s: counting costs up to 1 Hz
    assert out["spikes"] == round(out["rate_hz"])
    png = tmp_path / "ib.png"
    r = cli("neuro", "simulate", "--model", "izhikevich", "--pattern", "intrinsically-bursting", "--duration", "200",
            "--out", str(png), "--fi", "0,20")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert png.stat().st_size > 10_000
    r = cli("neuro", "simulate", "--model", "lif", "--current", "3", "--neurons", "20", "--duration", "200", "--json",
            "--out", str(tmp_path / "raster.png"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    rates = json.loads(r.stdout)["rates_hz"]
    assert len(rates) == 20 and rates[0] == 0.0 and rates == sorted(rates) and rates[-1] > 100  # more current, faster
    assert (tmp_path / "raster.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--model", "lif", "--dt", "0"], "--dt"),
        (
            ["--model", "lif", "--tau-m", "-5"],
            "--tau-m: -5.0 is out of range; valid: a number, 0.0 < tau_m <= 1000000.0",
        ),
        (
            ["--model", "izhikevich", "--pattern", "bursty"],
            "--pattern: 'bursty' is not valid; valid: one of regular-spiking",
        ),
        (["--model", "hh", "--duration", "nan"], "--duration"),
        (["--model", "lif", "--out", "trace.jpg"], "PNG"),
        (["--model", "cat"], "--model"),
        (["--model", "lif", "--neurons", "0"], "--neurons"),
    ],
)
def test_neuro_simulate_bad_input_is_one_line(args: list[str], fragment: str) -> None:
    from conftest import assert_one_line_error, cli

    assert_one_line_error(cli("neuro", "simulate", *args), fragment)


def test_train_snn_learns_and_compares_with_the_ann(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from conftest import cli

    r = cli("neuro", "train-snn", "--train-size", "1500", "--hidden", "64", "--steps", "6", "--epochs", "2",
            "--val-size", "300", "--eval-every", "750", "--lr", "0.003", "--out", str(tmp_path))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "SNN (LIF, direct)" in r.stdout and "ANN (ReLU)" in r.stdout and "synops" in r.stdout
    (run,) = (tmp_path / "neuro-train-snn").iterdir()
    m = json.loads((run / "summary.json").read_text())["metrics"]
    assert m["snn/test/accuracy"] > 0.75 and m["ann/test/accuracy"] > 0.75  # 1,500 images, 2 epochs; chance is 0.1
    assert 0 < m["snn/hidden_rate"] < 1 and m["snn/synops"] == pytest.approx(10 * m["snn/hidden_spikes_per_image"])
    assert (run / "learning_curves.png").is_file()
    from descentlab.labbook import build_report

    html = build_report([run], tmp_path / "report.html").read_text()
    assert '<section class="run" id="snn"' in html and "synaptic operations" in html


# ---- plasticity ----------------------------------------------------------------------------------


def test_oja_finds_the_first_principal_component() -> None:
    from descentlab.neuro.plasticity import oja

    g = torch.Generator().manual_seed(0)
    cov = torch.tensor([[3.0, 1.0, 0.0, 0.2], [1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.1], [0.2, 0.0, 0.1, 1.0]],
                       dtype=torch.float64)  # fmt: skip
    x = torch.randn(3000, 4, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T + 5.0
    w = oja(x, lr=0.002, epochs=5, generator=g)
    leading = torch.linalg.eigh(torch.cov(x.T)).eigenvectors[:, -1]
    assert abs(float(w @ leading)) / float(w.norm()) >= 0.99
    assert float(w.norm()) == pytest.approx(1.0, abs=0.05)  # Oja's decay term keeps |w| near 1


def test_stdp_traces_equal_the_sum_of_pair_windows() -> None:
    """The trace rule, run step by step without clipping, equals the sum over all (pre, post) pairs of the
    exponential window (all-to-all pairing; a pair in the same step counts as pre before post)."""
    from descentlab.neuro.plasticity import STDP

    rule = STDP()
    g = torch.Generator().manual_seed(1)
    steps = 300
    pre = (torch.rand(steps, 3, generator=g) < 0.05).double()
    post = torch.rand(steps, generator=g) < 0.04
    w, traces = torch.zeros(3, dtype=torch.float64), (torch.zeros(3, dtype=torch.float64), 0.0)
    for t in range(steps):
        w, traces = rule.step(w, pre[t], bool(post[t]), traces, dt=1.0, clip=False)
    post_times = torch.nonzero(post).flatten().double()
    for i in range(3):
        expected = 0.0
        for t_pre in torch.nonzero(pre[:, i]).flatten().double():
            for t_post in post_times:
                delta = float(t_post - t_pre)
                expected += rule.a_plus * math.exp(-delta / rule.tau_plus) if delta >= 0 else float(rule.window(delta))
        assert float(w[i]) == pytest.approx(expected, abs=1e-12)


def test_stdp_learns_a_pattern_hidden_in_noise() -> None:
    from descentlab.neuro.plasticity import repeated_pattern

    r = repeated_pattern(seconds=60, seed=0)
    final = r.weights[-1]
    assert float(r.pattern_inputs[torch.topk(final, 20).indices].double().mean()) >= 0.9  # strongest: pattern's
    n = len(r.post_spikes)
    late = slice(n - n // 4, n)
    inside = int((r.post_spikes[late] & r.in_pattern[late]).sum())
    outside = int((r.post_spikes[late] & ~r.in_pattern[late]).sum())
    assert inside >= 20 and inside > 5 * outside  # it fires for the pattern (a quarter of the time), not the noise


def test_neuro_plasticity_and_patterns_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from conftest import assert_one_line_error, cli

    r = cli("neuro", "plasticity", "--seconds", "30", "--starts", "2", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    (run,) = (tmp_path / "neuro-plasticity").iterdir()
    m = json.loads((run / "summary.json").read_text())["metrics"]
    assert m["oja/cosine"] >= 0.99 and (run / "stdp.png").stat().st_size > 10_000
    assert m["stdp/late_spikes_in_pattern"] > m["stdp/late_spikes_outside"]
    r = cli("neuro", "patterns", "--duration", "150", "--hh-duration", "20", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "intrinsically-bursting" in r.stdout and "hodgkin-huxley" in r.stdout
    (run,) = (tmp_path / "neuro-patterns").iterdir()
    assert (run / "neurons.png").is_file()
    from descentlab.labbook import build_report

    runs = [*(tmp_path / "neuro-plasticity").iterdir(), run]
    html = build_report(runs, tmp_path / "report.html").read_text()
    assert '<section class="run" id="neuro-patterns"' in html and '<section class="run" id="stdp"' in html
    assert_one_line_error(cli("neuro", "plasticity", "--seconds", "0", "--out", str(tmp_path)), "seconds")
