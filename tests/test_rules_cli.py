"""``twitchsense rules``: the shipped rules shown, copied for editing and checked (issue 18)."""

from __future__ import annotations

from twitchsense.alerts import default_rules_path, load_rules


def test_show_copy_and_check(tmp_path, run_main):
    shipped = default_rules_path().read_text(encoding="utf-8")
    rc, out, _ = run_main("rules", "--show")
    assert rc == 0 and out == shipped
    mine = tmp_path / "my-rules.toml"
    rc, out, _ = run_main("rules", "--copy", mine)
    assert rc == 0 and mine.read_text(encoding="utf-8") == shipped and f"--rules {mine}" in out
    rc, _, err = run_main("rules", "--copy", mine)  # never overwritten unasked
    assert rc == 1 and "the file exists" in err
    rc, out, _ = run_main("rules", "--check", mine)
    n = len(load_rules().rules)
    assert rc == 0 and f"{n} rules, valid" in out and "  frequent: frequency, warning" in out
    mine.write_text(shipped.replace('level = "warning"', 'level = "loud"', 1), encoding="utf-8")
    rc, out, err = run_main("rules", "--check", mine)
    assert rc == 1 and str(mine) in err and "loud" in err and len(err.strip().splitlines()) == 1
