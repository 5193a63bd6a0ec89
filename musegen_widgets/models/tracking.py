"""Running means of a model's own training terms, for models with a custom ``train_step`` (chapters 02, 03).

Keras's ``fit`` prints and records whatever ``train_step`` returns; a model whose loss has several named
terms (the VAE's reconstruction and KL, the GAN's critic and generator losses) keeps one
``keras.metrics.Mean`` per term, so that the numbers printed are averages over the epoch so far, and lists
them in ``metrics`` so that Keras resets them at each epoch.
"""

from __future__ import annotations

import keras

__all__ = ["TrackedModel"]


class TrackedModel(keras.Model):
    """A ``keras.Model`` that tracks named terms: :meth:`track` updates their means and returns them all.

    Taught in chapter 02, section 6 (training). Subclasses call ``self.start_tracking(names)`` in
    ``__init__`` and end ``train_step`` and ``test_step`` with ``return self.track(terms)``.
    """

    def start_tracking(self, names) -> None:
        """One running mean per name, in this order (the order Keras prints them in)."""
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    def track(self, terms: dict) -> dict:
        """Add this step's value of each term to its mean; return every mean, as ``train_step`` must."""
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    @property
    def metrics(self):
        return list(self.trackers.values())
