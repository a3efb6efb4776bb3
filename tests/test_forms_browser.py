"""Forms that guide, in Chromium (issue 13): the error summary and per-field messages with
JavaScript on and off, radio groups as fieldsets, upload progress within a part, the retry
countdown, and the passphrase heading focused after sending."""

import os
import re

import pytest

from .browser import chromium, live_server

pytestmark = pytest.mark.browser

WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 360, "height": 740}
REQUIRED = ["accept_policy", "title", "system", "description"]
# What the sending page showed, recorded from its start: the form is replaced by the passphrase
# page once it is done, so the test cannot read it afterwards.
RECORDER = """
window.seen = {percent: [], status: [], spoken: [], text: []};
new MutationObserver(() => {
  const note = (list, value) => value && list.at(-1) !== value && list.push(value);
  const status = document.querySelector("[data-seal-status]");
  note(window.seen.percent, document.querySelector("[data-progress]")?.dataset.percent);
  // What is seen (the ticking countdown when there is one) and what a screen reader is told.
  note(window.seen.status, (status?.querySelector("[data-countdown]") ?? status)?.textContent);
  const countdown = status?.querySelector("[data-countdown]");
  note(window.seen.spoken, countdown ? status.querySelector(".visually-hidden").textContent : status?.textContent);
  note(window.seen.text, document.querySelector("[data-progress-text]")?.textContent);
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""


@pytest.fixture
def served(make_portal):
    with live_server(make_portal(MELDPUNT_POW_BITS=0)) as base:
        yield base


def _fill(page, names=REQUIRED):
    values = {"title": "Heap overflow in the image parser", "system": "viewer.example.nl", "description": "Details"}
    for name in names:
        if name == "accept_policy":
            page.check("#accept_policy")
        else:
            page.fill(f"#{name}", values[name])


def _open_form(page, base, java_script, viewport=WIDE, language="en"):
    page.set_viewport_size(viewport)
    page.goto(f"{base}/report?lang={language}")
    if java_script:
        page.wait_for_selector("form[data-enhanced=yes]")


def _submit(page, java_script):
    if java_script:
        page.click("form[data-seal] button[type=submit]")
    else:
        with page.expect_navigation():
            page.click("form[data-seal] button[type=submit]")


def _focused(page) -> str:
    return page.evaluate("document.activeElement.id")


def _field_state(page, name):
    return page.evaluate(
        """(name) => {
            const input = document.getElementById(name);
            const note = document.getElementById(name + "-error");
            return {invalid: input.getAttribute("aria-invalid"),
                    described: (input.getAttribute("aria-describedby") || "").split(" "),
                    message: note && note.textContent.trim(),
                    marked: input.closest(".field").classList.contains("invalid")};
        }""",
        name,
    )


def _holding(held: list):
    """A route handler that keeps the first upload request unanswered until the test lets it go
    (`held[0].continue_()`): the form is looked at while it sends, with no sleep to guess at."""

    def handle(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    return handle


def _summary_links(page):
    return page.eval_on_selector_all("[data-error-summary]:not([hidden]) a", "links => links.map(a => a.hash)")


@pytest.mark.parametrize("java_script", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280", "360"])
def test_an_incomplete_form_gets_a_summary_at_the_top_and_a_message_at_each_field(served, java_script, viewport):
    with chromium(java_script=java_script) as context:
        page = context.new_page()
        _open_form(page, served, java_script, viewport)
        _submit(page, java_script)
        page.wait_for_selector("[data-error-summary]:not([hidden])")
        # The summary has the focus and is in sight without scrolling, even on a phone.
        assert _focused(page) == "error-summary"
        box = page.evaluate(
            """() => {
                const r = document.getElementById("error-summary").getBoundingClientRect();
                return {top: r.top + scrollY, bottom: r.bottom + scrollY, screen: innerHeight};
            }"""
        )
        assert box["top"] >= 0, box
        assert box["bottom"] <= box["screen"], box
        assert _summary_links(page) == [f"#{name}" for name in REQUIRED]
        for name in REQUIRED:
            state = _field_state(page, name)
            assert state["invalid"] == "true", name
            assert f"{name}-error" in state["described"], name
            assert state["marked"], name
            assert state["message"].endswith(
                "Please accept the policy to send a report."
                if name == "accept_policy"
                else "Please fill in this field."
            )
        assert "title-hint" in _field_state(page, "title")["described"]  # the hint is still read out
        # A link names its field; a checkbox's message says it all.
        assert page.inner_text("[data-error-summary] a[href='#title']") == "Title: Please fill in this field."
        policy = page.inner_text("[data-error-summary] a[href='#accept_policy']")
        assert policy == "Please accept the policy to send a report."
        # Each link moves the focus to its field, and the field's label is in sight.
        for name in ("system", "accept_policy"):
            page.click(f"[data-error-summary] a[href='#{name}']")
            assert _focused(page) == name
            label = page.evaluate(f"document.querySelector('label[for={name}]').getBoundingClientRect().top")
            assert 0 <= label < page.viewport_size["height"]
        # Fixed fields lose their messages; the others keep them.
        _fill(page, ["accept_policy", "title"])
        _submit(page, java_script)
        page.wait_for_selector("[data-error-summary]:not([hidden])")
        assert _summary_links(page) == ["#system", "#description"]
        for name in ("accept_policy", "title"):
            state = _field_state(page, name)
            assert (state["invalid"], state["message"], state["marked"]) == (None, None, False), name
            assert state["described"] == [f"{name}-hint"], name
        assert _field_state(page, "system")["invalid"] == "true"
        # Once the form is valid nothing of the messages is left, and the passphrase page's heading
        # takes the focus, so a screen reader says it was sent.
        held = []
        if java_script:
            page.route("**/uploads/**", _holding(held))  # the form, looked at while it sends
        _fill(page, ["system", "description"])
        _submit(page, java_script)
        if java_script:
            page.wait_for_selector("[data-progress]:not([hidden])")
            assert page.is_hidden("[data-error-summary]")
            assert page.locator("form [aria-invalid], form .error, form .field.invalid").count() == 0
            for _attempt in range(500):  # the route handler runs while the test waits on the page
                if held:
                    break
                page.wait_for_timeout(20)
            held[0].continue_()
        page.wait_for_selector(".passphrase", timeout=30_000)
        assert _focused(page) == "passphrase-heading"


def test_every_summary_link_names_a_field_that_exists(served):
    """A report form back from the server with a message on every kind of field (text, checkbox,
    radio group) without JavaScript: each link points at an element of the page."""
    with chromium(java_script=False) as context:
        page = context.new_page()
        page.goto(served + "/report")
        page.check("#credit")  # and no name to credit
        _submit(page, False)
        for target in _summary_links(page):
            assert page.locator(target).count() == 1, target
        assert "#credit_name" in _summary_links(page)


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280", "360"])
def test_yes_no_dont_know_is_a_fieldset_each_option_beside_its_label(served, viewport):
    with chromium() as context:
        page = context.new_page()
        _open_form(page, served, True, viewport)
        group = page.locator("fieldset.choices:has(input[name=exploited])")
        assert group.locator("legend").inner_text().startswith("Is this being actively exploited?")
        options = group.locator("input[type=radio]")
        assert options.count() == 3
        for index in range(3):
            option = options.nth(index)
            field = option.bounding_box()
            label = page.locator(f"label[for={option.get_attribute('id')}]").bounding_box()
            assert label["x"] > field["x"]  # beside it, not under it
            assert abs((label["y"] + label["height"] / 2) - (field["y"] + field["height"] / 2)) < label["height"] / 2
        # The required mark is part of the label, on its line.
        for name in REQUIRED:
            mark = page.locator(f"label[for={name}] .required")
            assert mark.count() == 1, name
            label = page.locator(f"label[for={name}]").bounding_box()
            assert mark.bounding_box()["y"] < label["y"] + label["height"]


@pytest.mark.parametrize("language", ["en", "nl"])
def test_progress_moves_within_a_part(served, tmp_path, language):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(10 * 1024 * 1024))  # three 4 MiB parts
    with chromium() as context:
        page = context.new_page()
        page.add_init_script(RECORDER)
        _open_form(page, served, True, language=language)
        _fill(page)
        page.set_input_files("#attachments", [str(big)])
        # Chromium's own network emulation: the bytes leave the browser at this rate, so the bar
        # can show a part on its way (a route handler would hold the whole request instead).
        session = context.new_cdp_session(page)
        session.send("Network.enable")
        session.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 2 * 1024 * 1024},
        )
        page.click("button[type=submit]")
        page.wait_for_selector(".passphrase", timeout=60_000)
        seen = page.evaluate("window.seen")
    percents = [int(value) for value in seen["percent"]]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    # Four parts (the report and three of the file) could give at most five values part by part.
    assert len(set(percents)) > 15, percents
    if language == "en":
        number = r"\d+(\.\d)?"
        assert any(
            re.fullmatch(rf"{number} ?% · {number} (KiB|MiB) of {number} MiB · about \d+ \w+ left", text)
            for text in seen["text"]
        ), seen["text"]
    else:  # the numbers in the page's language, whatever the catalogue says around them
        assert any(re.search(r"\d+ ?% · \d+,\d MiB .* \d+,\d MiB", text) for text in seen["text"]), seen["text"]


def test_a_dropped_connection_counts_down_then_resumes(served, tmp_path):
    poc = tmp_path / "poc.bin"
    poc.write_bytes(os.urandom(6 * 1024 * 1024))  # two parts
    dropped = []

    def drop_twice(route):
        if route.request.method == "PUT" and route.request.url.endswith("/1") and len(dropped) < 2:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    with chromium() as context:
        page = context.new_page()
        page.add_init_script(RECORDER)
        page.route("**/uploads/**", drop_twice)
        _open_form(page, served, True)
        _fill(page)
        page.set_input_files("#attachments", [str(poc)])
        page.click("button[type=submit]")
        page.wait_for_selector(".passphrase", timeout=60_000)
        seen = page.evaluate("window.seen")
        focused = _focused(page)
    assert len(dropped) == 2
    status = seen["status"]
    first = status.index("Connection lost, trying again in 1 s")
    second = status.index("Connection lost, trying again in 2 s")
    assert first < second
    assert status[second + 1] == "Connection lost, trying again in 1 s"
    assert status[second + 2] == "Encrypting in your browser and sending…"  # resumed
    # Told once per wait, not at every tick: the spoken text changes only when a new wait begins.
    spoken = seen["spoken"]
    assert spoken.count("Connection lost, trying again in 2 s") == 1
    assert "Connection lost, trying again in 1 s" in spoken[: spoken.index("Connection lost, trying again in 2 s")]
    assert "Connection lost, trying again in 1 s" not in spoken[spoken.index("Connection lost, trying again in 2 s") :]
    assert focused == "passphrase-heading"


def test_a_refusal_after_sending_shows_in_the_summary(served):
    """With JavaScript the server's answer to the handles is read for its messages: an expired
    form comes back as a line of the form's own in the summary (no field to link to), the text
    still in the form."""

    def expire(route):
        route.continue_(post_data=re.sub(r"csrf_token=[^&]*", "csrf_token=expired", route.request.post_data))

    with chromium() as context:
        page = context.new_page()
        page.route("**/report/sealed", expire)
        _open_form(page, served, True)
        _fill(page)
        page.click("form[data-seal] button[type=submit]")
        page.wait_for_selector("[data-error-summary]:not([hidden])", timeout=30_000)
        assert _focused(page) == "error-summary"
        assert _summary_links(page) == []
        assert "The form had expired" in page.inner_text("[data-error-summary]")
        assert page.input_value("#title") == "Heap overflow in the image parser"


@pytest.mark.parametrize("java_script", [True, False], ids=["js", "no-js"])
def test_the_team_s_reply_form_guides_the_same_way(make_portal, java_script):
    """The team's reply, sealed in the browser with JavaScript and on the server without: an empty
    reply fills the page's one summary (at its top) with a link to the field and marks the field;
    the reply sent, nothing of the messages is left."""
    import time

    from app.domain.db import database
    from app.domain.models import Report

    from .portal_helpers import submit_report
    from .team_helpers import PASSWORD, enrol

    portal = make_portal()
    submit_report(portal.test_client(), files=[])
    with portal.app_context(), database.connection_context():
        reference = Report.get().reference
    totp = enrol(portal.test_client(), portal, "hanna", "handler")
    with live_server(portal) as base, chromium(java_script=java_script) as context:
        page = context.new_page()
        page.goto(f"{base}/team/signin?lang=en")
        page.fill("#name", "hanna")
        page.fill("#password", PASSWORD)
        page.fill("#code", totp.at(time.time() + 30))  # the enrolment used the current code
        with page.expect_navigation():
            page.click("form[action$='/team/signin'] button[type=submit]")
        page.goto(f"{base}/team/reports/{reference}?lang=en")
        if java_script:
            page.wait_for_selector("form[data-enhanced=yes]")
        _submit_reply(page, java_script)
        page.wait_for_selector("[data-error-summary]:not([hidden])")
        assert page.locator("[data-error-summary]").count() == 1  # the server's, filled by the script
        assert page.evaluate("document.querySelector('[data-error-summary]').nextElementSibling.tagName") == "H1"
        assert _focused(page) == "error-summary"
        assert _summary_links(page) == ["#message"]
        link = page.inner_text("[data-error-summary] a[href='#message']")
        assert link == "Reply, sealed to the reporter and the team: Please fill in this field."
        state = _field_state(page, "message")
        assert (state["invalid"], state["marked"]) == ("true", True)
        assert "message-error" in state["described"]
        assert state["message"].endswith("Please fill in this field.")
        page.click("[data-error-summary] a[href='#message']")
        assert _focused(page) == "message"
        page.fill("#message", "Reproduced, thank you.")
        _submit_reply(page, java_script)
        page.wait_for_selector("text=The reply is sealed to the reporter and the team.", timeout=30_000)
        assert page.is_hidden("[data-error-summary]")
        assert page.locator("[aria-invalid], .error, .field.invalid").count() == 0


def _submit_reply(page, java_script):
    button = "form[action*='/reply'][method=post]:not([enctype]) button[type=submit]"
    if java_script:
        page.click(button)
    else:
        with page.expect_navigation():
            page.click(button)
