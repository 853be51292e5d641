"""The quiz texts shipped as package data and the quiz widget (`llm_from_scratch.quiz`)."""

import pytest

from llm_from_scratch.teaching.quiz import (
    Quiz,
    QuizError,
    inline_html,
    load_quizzes,
    quiz,
    quiz_files,
    rendered,
)


def test_every_quiz_file_loads_and_each_quiz_has_one_right_answer():
    bank = load_quizzes()
    assert quiz_files() and len(bank) >= len(quiz_files())
    for qid, spec in bank.items():
        assert sum(ok for _, ok, _ in spec["options"]) == 1, qid


def test_quiz_by_id_answers_and_renders():
    qid = next(iter(load_quizzes()))
    q = quiz(qid)
    right = q.correct.index(True)
    assert q.check(right)[0] is True
    assert q.check((right + 1) % len(q.options))[0] is False
    with pytest.raises(QuizError):
        q.check(len(q.options))
    html = q.to_html()
    assert "<details>" in html and "Correct." in html
    data, _ = q._repr_mimebundle_()
    assert data["text/html"] == html


def test_unknown_id_suggests_the_nearest():
    qid = next(iter(load_quizzes()))
    with pytest.raises(QuizError, match="did you mean"):
        quiz(qid + "x")


def test_rendered_checks_the_options():
    ok = [("a", True, "yes"), ("b", False, "no")]
    q_html, opts, html_opts = rendered("Is `x` $\\alpha^2$?", ok)
    assert "<code>x</code>" in q_html and opts == ok and len(html_opts) == 2
    with pytest.raises(QuizError, match="exactly one"):
        rendered("q", [("a", True, ""), ("b", True, "")])
    with pytest.raises(QuizError, match=">= 2"):
        rendered("q", [("a", True, "")])
    assert isinstance(Quiz("q", ok), Quiz)


def test_inline_markup():
    assert inline_html("a <b> `c`") == "a &lt;b&gt; <code>c</code>"
    assert "α" in inline_html("$\\alpha$")
