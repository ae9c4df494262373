"""The Home page through AppTest: "Look inside it" offers only the views that fit the current run."""

from __future__ import annotations

from appkit.frame import navigation
from tests import app_harness
from tests.app_harness import app_test, copy_run, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures


def _links(at) -> list[str]:
    return [element.proto.label for element in at.get("page_link")]


def test_look_inside_offers_the_views_that_fit_and_says_what_the_others_need(app_dirs, jobs, tiny_run, monkeypatch):
    copy_run(tiny_run, app_dirs["runs"])  # an MLP on two moons: no attention, no code
    at = app_test(monkeypatch)
    assert not errors(at), errors(at)
    links = _links(at)
    assert {"Layer walk-through", "Attribution", "Decision boundary", "Units", "Compare runs"} <= set(links)
    assert "Attention" not in links and "Latent space" not in links
    needs = " ".join(c.value for c in at.main.caption)
    assert "Attention needs a vision transformer" in needs and "Latent space needs an autoencoder" in needs


def test_every_analysis_page_is_either_offered_or_explained(app_dirs, jobs, tiny_run, monkeypatch):
    copy_run(tiny_run, app_dirs["runs"])
    at = app_test(monkeypatch)
    needs = " ".join(c.value for c in at.main.caption)
    views = [entry.title for entry in navigation.ENTRIES if entry.view is not None]
    offered = {title: title in _links(at) for title in views}
    explained = {title: f"{title} needs" in needs or f"{title} does" in needs for title in views}
    assert len(views) >= 10 and all(offered[title] != explained[title] for title in views), (offered, explained)


def test_no_run_offers_no_views(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch)
    assert not errors(at)
    assert not {e.title for e in navigation.ENTRIES if e.view} & set(_links(at))
