"""Shared fixtures and hypothesis profiles (HYPOTHESIS_PROFILE=ci|dev|thorough)."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import FIXTURE_CATALOG

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def fixture_catalog() -> dict:
    """Hand-made test catalog (round numbers; not measurements)."""
    return json.loads(FIXTURE_CATALOG.read_text())
