"""Notebook 06, the knowledge check answered by measurements.

The cell texts, in order; `build.py` turns them into the notebook.
"""

from notebooks._build.build import SETUP_BASIC, code, md

CELLS = [
    md("""
# 6. Knowledge check, answered by measurement

The lesson ends with three multiple-choice questions. Here every option gets
a check that runs against evidence measured with this library
(`lessons.knowledge_check`): small quadratics, Adam against its formula, SGD
on a nonlinear model, and the optimizer interface itself. Exactly one option
per question should survive.
"""),
    code(SETUP_BASIC),
    code("""
from jaxopt_lessons.lessons import knowledge_check, plots_of

evidence = knowledge_check.gather_evidence(0)
verdicts = knowledge_check.check_options(evidence)
for q, (question, options) in knowledge_check.QUESTIONS.items():
    print(f"Q{q}. {question}")
    for letter, text in options.items():
        ok, why = verdicts[q][letter]
        print(f"  {letter}) {text}\\n     {'SUPPORTED' if ok else 'refuted'}: {why}")
    print()
"""),
    md("""
The two "B" options are category errors: an update sees gradients, its own
state and the parameters, so it cannot turn classification into regression
or replace a loss. Their checks read the interface rather than run an
experiment. Every other option is decided by a number.
"""),
    code("""
supported = knowledge_check.supported_options(evidence)
print("options the evidence supports:", supported)
assert supported == {1: ["A"], 2: ["A"], 3: ["A"]}
"""),
    md("""
## Grade yourself

`grade` takes your answers and explains each verdict with the measured
numbers. Try your own answers in the next cell.
"""),
    code("""
for feedback in knowledge_check.grade({1: "A", 2: "C", 3: "B"}, evidence):
    print(feedback, end="\\n\\n")
"""),
    code("""
result = knowledge_check.run(quick=True)
print(result.measured)
for path in plots_of("knowledge_check").plot(result, OUT):
    display(Image(path))
"""),
]
