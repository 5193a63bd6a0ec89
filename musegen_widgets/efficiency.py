"""What a model costs to generate with: multiply-adds, latency, and a real int8 runtime (chapter 07).

* :func:`multiply_adds_per_step` counts the arithmetic of one generated step of a sequence model's
  ``stepper()``: each weight of a matrix or kernel multiplies once per step (a table lookup, such as an
  embedding, costs nothing), and a Transformer's attention adds work that grows with the number of cached
  steps.
* :func:`generation_latency` times one step and a whole sample, with the numpy stepper and with Keras
  re-running the model over the prefix (what a sampler without a cache does).
* :class:`WithoutCache` is a model whose stepper keeps nothing from step to step: the same numpy engine
  re-run over the whole prefix for every token, so that a cache's worth is measured like with like.
* :func:`litert_lstm_step` turns a melody LSTM's step into a LiteRT (TensorFlow Lite) model, float32 or
  with int8 weights (LiteRT's "dynamic range" quantisation: int8 weights, float activations, int8 matrix
  kernels), to measure what int8 buys on a runtime that has int8 kernels: numpy has none. LiteRT's
  interpreter (the ``ai-edge-litert`` package) is optional, ``pip install "musegen-widgets[litert]"`` (installed with
  the course's ``[lab]`` extra): :func:`litert_available` says whether it is there, and without it
  :func:`litert_lstm_step` raises :class:`~musegen_widgets.errors.MusegenError` saying how to install it.
"""

from __future__ import annotations

import time

import numpy as np

from .errors import MusegenError

__all__ = [
    "multiply_adds_per_step",
    "generation_latency",
    "WithoutCache",
    "litert_available",
    "litert_lstm_step",
    "LiteRTStepper",
]

_LITERT_MISSING = (
    "LiteRT's interpreter (the ai-edge-litert package) is not installed: it is the optional part of chapter 07 "
    'that runs a step on int8 kernels. Install it with `pip install "musegen-widgets[litert]"` or '
    "`pip install ai-edge-litert`; without it the chapter skips this part"
)


def multiply_adds_per_step(model, steps: int = 256) -> float:
    """Multiply-adds of one generated step of ``model.stepper()``, averaged over a sample of ``steps``.

    Taught in chapter 07, section 1 (what each model costs).

    Every weight of a dense or convolution kernel is one multiply-add per step (the TCN's queues feed each
    tap one cached input). Embedding tables are lookups. A Transformer block attending over ``t`` cached
    steps adds ``t * d`` for the query-key products, ``t * d`` for mixing the values and, with relative
    attention, ``t * d`` for the query-distance products; over a sample, ``t`` averages ``(steps + 1) / 2``.

    >>> from musegen_widgets.models import MelodyLSTM
    >>> model = MelodyLSTM(units=8, n_layers=1, embedding=4, vocab_size=10)
    >>> _ = model(model.example_input())
    >>> multiply_adds_per_step(model)  # 4 x 8 x (4 + 8) for the gates, 8 x 10 for the read-out
    464.0
    """
    once = sum(
        int(np.prod(v.shape))
        for v in model.weights
        if len(v.shape) >= 2 and not v.path.endswith("embeddings") and "/relative_" not in v.path
    )
    if not hasattr(model, "head_size"):
        return float(once)
    width = model.head_size * model.heads
    per_cached_step = model.n_layers * width * (3 if model.relative_attention else 2)
    return float(once + per_cached_step * (steps + 1) / 2)


def _median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def generation_latency(model, *, steps: int = 256, repeats: int = 3, keras: bool = True) -> dict[str, float]:
    """Seconds to generate with ``model``: one step after ``steps - 1``, and a whole sample of ``steps``.

    Taught in chapter 07, section 1 (what each model costs).

    Returns the median of ``repeats`` runs of ``numpy_step`` (the stepper's last step of a sample),
    ``numpy_sample`` (the stepper, ``steps`` steps), and with ``keras``: ``keras_step`` (the Keras model,
    compiled by ``tf.function``, over ``steps`` tokens for one step's logits) and ``keras_sample`` (that
    ``steps`` times, once per new token: a sampler without a cache, the prefix padded to one length).
    Tokens are fed, not drawn: the timing is the model's alone.
    """
    if not (isinstance(steps, (int, np.integer)) and steps >= 2):
        raise MusegenError(f"steps must be a whole number of at least 2, got {steps!r}")
    tokens = np.random.default_rng(0).integers(0, model.vocab_size, steps).astype(np.int32)

    def sample():
        stepper = model.stepper()
        for token in tokens:
            stepper.feed(int(token))
        return stepper

    def last_step():  # a stepper that has fed all but the last token: time only the last
        stepper = model.stepper()
        for token in tokens[:-1]:
            stepper.feed(int(token))
        start = time.perf_counter()
        stepper.feed(int(tokens[-1]))
        return time.perf_counter() - start

    result = {
        "numpy_step": float(np.median([last_step() for _ in range(repeats)])),
        "numpy_sample": _median_seconds(sample, repeats),
    }
    if keras:
        import tensorflow as tf

        # one input shape, traced once: the prefix padded to `steps` (the model is causal, so the padding
        # changes nothing before it); a new shape at every step would trace the model again each time
        call = tf.function(lambda x: model(x, training=False))
        padded = tf.constant(tokens[None])
        call(padded)
        result["keras_step"] = _median_seconds(lambda: call(padded), repeats)
        result["keras_sample"] = _median_seconds(lambda: [call(padded) for _ in range(steps)], 1)
    return result


class WithoutCache:
    """``model`` with a stepper that keeps nothing between tokens: each ``feed`` starts a fresh
    ``model.stepper()`` and feeds it the whole prefix again.

    Taught in chapter 05, section 7 (sampling with a key/value cache). It computes exactly what the cached
    stepper computes, with the same numpy code, so a sample from it is the same melody token for token; only
    the work differs: a sample of ``L`` steps runs ``L (L + 1) / 2`` positions through the model instead of
    ``L``. Anything that samples from a model (:func:`~musegen_widgets.sampling.sample`) takes it.

    >>> from musegen_widgets import sampling
    >>> from musegen_widgets.ngram import NGramModel
    >>> model = NGramModel(max_order=2).fit([[1, 2, 0, 0, 3, 0]])
    >>> cached = sampling.sample(model, steps=12, seed=0)
    >>> (sampling.sample(WithoutCache(model), steps=12, seed=0) == cached).all()
    np.True_
    """

    def __init__(self, model):
        self.model = model

    def stepper(self) -> _PrefixStepper:
        return _PrefixStepper(self.model)


class _PrefixStepper:
    def __init__(self, model):
        self.model, self.tokens = model, []

    def feed(self, token: int) -> np.ndarray:
        self.tokens.append(int(token))
        stepper = self.model.stepper()
        for previous in self.tokens:
            logits = stepper.feed(previous)
        return logits


def litert_available() -> bool:
    """Whether LiteRT's interpreter (the optional ``ai-edge-litert`` package) can be imported.

    Taught in chapter 07, section 2 (int8 weights), where the int8 runtime part runs only if it is there.

    LiteRT comes with the ``litert`` extra, ``pip install "musegen-widgets[litert]"``, or on its own,
    ``pip install ai-edge-litert``. Without it, :func:`litert_lstm_step`
    raises :class:`~musegen_widgets.errors.MusegenError`.

    Returns
    -------
    bool
        ``True`` if ``ai_edge_litert.interpreter`` imports.

    Examples
    --------
    >>> isinstance(litert_available(), bool)
    True
    """
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def _require_litert():
    """LiteRT's ``Interpreter`` class; a :class:`MusegenError` that says how to install it if it is missing."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise MusegenError(f"{_LITERT_MISSING} ({error})") from None
    return Interpreter


class LiteRTStepper:
    """A melody LSTM's step on the LiteRT interpreter: ``feed(token)`` returns the next logits, as the
    numpy stepper's (:class:`~musegen_widgets.models.melody_lstm.LSTMStepper`) do.

    Taught in chapter 07, section 2 (int8 weights). Made by :func:`litert_lstm_step`; ``model_bytes`` is the
    size of the LiteRT model (its weights and graph).

    Raises
    ------
    MusegenError
        If LiteRT (the optional ``ai-edge-litert`` package) is not installed.
    """

    def __init__(self, model, flatbuffer: bytes):
        from .models.melody_inputs import StepInputs

        interpreter_class = _require_litert()

        self.inputs = StepInputs(model)
        self.model_bytes = len(flatbuffer)
        interpreter = interpreter_class(model_content=flatbuffer, num_threads=1)
        self._run = interpreter.get_signature_runner()
        self.state = [np.zeros((1, model.units), np.float32) for _ in range(2 * model.n_layers)]

    def feed(self, token: int) -> np.ndarray:
        """Take the token at the current step; return the logits for the next one."""
        x = self.inputs.feed(token)[None].astype(np.float32)
        out = self._run(x=x, **{f"state_{i}": s for i, s in enumerate(self.state)})
        self.state = [out[f"new_state_{i}"] for i in range(len(self.state))]
        return out["logits"][0]


def litert_lstm_step(model, *, int8: bool) -> LiteRTStepper:
    """One step of a :class:`~musegen_widgets.models.melody_lstm.MelodyLSTM` as a LiteRT model.

    Taught in chapter 07, section 2 (int8 weights).

    The step (the LSTM cells and the read-out, from the embedded input and the states to the logits and new
    states) is traced with TensorFlow and converted by ``tf.lite.TFLiteConverter``; with ``int8`` the
    converter stores every weight matrix in int8 with per-channel scales and LiteRT runs the products in
    int8 ("dynamic range" quantisation). The embedding lookups stay in numpy, as in the numpy stepper.

    Raises
    ------
    MusegenError
        For a model that is not a ``MelodyLSTM``, or if LiteRT's interpreter (the optional ``ai-edge-litert``
        package, ``pip install "musegen-widgets[litert]"``) is not installed: see
        :func:`litert_available`.
    """
    _require_litert()  # before TensorFlow is imported and the step converted: say at once what is missing
    import tensorflow as tf

    from .models.melody_lstm import MelodyLSTM

    if not isinstance(model, MelodyLSTM):
        raise MusegenError(f"litert_lstm_step takes a MelodyLSTM, not a {type(model).__name__}")
    stepper = model.stepper()
    cells = [(tf.constant(stacked.T), tf.constant(bias)) for stacked, bias in stepper.cells]
    readout = (tf.constant(stepper.readout[0]), tf.constant(stepper.readout[1]))
    width, units = stepper.cells[0][0].shape[1] - model.units, model.units

    class Step(tf.Module):
        @tf.function(
            input_signature=[tf.TensorSpec((1, width), tf.float32, name="x")]
            + [tf.TensorSpec((1, units), tf.float32, name=f"state_{i}") for i in range(2 * len(cells))]
        )
        def __call__(self, x, *states):
            new_states = []
            for i, (kernel, bias) in enumerate(cells):
                h, c = states[2 * i], states[2 * i + 1]
                gates = tf.matmul(tf.concat([x, h], axis=1), kernel) + bias
                input_gate, forget, candidate, output = tf.split(gates, 4, axis=1)
                c = tf.sigmoid(forget) * c + tf.sigmoid(input_gate) * tf.tanh(candidate)
                x = tf.sigmoid(output) * tf.tanh(c)
                new_states += [x, c]
            result = {"logits": tf.matmul(x, readout[0]) + readout[1]}
            result.update({f"new_state_{i}": s for i, s in enumerate(new_states)})
            return result

    step = Step()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([step.__call__.get_concrete_function()], step)
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return LiteRTStepper(model, converter.convert())
