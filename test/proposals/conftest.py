"""Fixtures for the proposal tests: held-out synthetic scenes, no network."""

from __future__ import annotations

import socket

import pytest

# Held-out seeds (the evaluation range of fo1_ros.eval.proposal_recall); the default source's
# parameters were chosen on seeds 800000-800099.
HELD_OUT = tuple(range(900000, 900010))


@pytest.fixture(scope="session")
def held_out_scenes():
    from fo1_ros.synth import make_scene

    return [make_scene(s) for s in HELD_OUT]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
