"""Branch and bound in a child process, so that the safety stop can always end it.

HiGHS 1.16 can run past its own ``time_limit`` (seen in the root node of the proof MIP after
a chain of restarts, and while mapping a starting solution through presolve). A solver that
cannot be stopped would break the promise that the wall clock is only a safety stop, so
:func:`workbench.territory.exact.prove` runs HiGHS here, in a child process it talks to over
pipes and kills when the safety stop passes.

Protocol (pickled messages; the child's stdout carries replies only, HiGHS's own prints go to
/dev/null): first ``(model, options)``; then ``("run", time_limit, cutoff)`` answered with a
dict ``status, iterations, dual, has_solution, x``; ``("rows", [(index, value), ...])`` adds
rows ``sum value x[index] <= 0`` (no answer); ``("stop",)`` ends the child.
"""

from __future__ import annotations

import os
import pickle
import sys


def _model(spec: dict):
    import highspy
    import numpy as np

    lp = highspy.HighsLp()
    lp.num_col_ = spec["num_col"]
    lp.num_row_ = spec["num_row"]
    lp.col_cost_ = spec["cost"]
    lp.col_lower_ = np.zeros(spec["num_col"])
    lp.col_upper_ = np.ones(spec["num_col"])
    lp.row_lower_ = spec["row_lower"]
    lp.row_upper_ = spec["row_upper"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = spec["start"]
    lp.a_matrix_.index_ = spec["index"]
    lp.a_matrix_.value_ = spec["value"]
    lp.integrality_ = [highspy.HighsVarType.kInteger] * spec["num_col"]
    return lp


def main() -> None:
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # HiGHS prints its banner on stdout: keep it off the reply channel
    requests = sys.stdin.buffer

    import highspy
    import numpy as np

    spec, options = pickle.load(requests)
    h = highspy.Highs()
    for name, value in options.items():
        h.setOptionValue(name, value)
    h.passModel(_model(spec))
    while True:
        msg = pickle.load(requests)
        if msg[0] == "stop":
            break
        if msg[0] == "rows":
            for idx, val in msg[1]:
                h.addRow(
                    -highspy.kHighsInf,
                    0.0,
                    len(idx),
                    np.asarray(idx, dtype=np.int32),
                    np.asarray(val, dtype=float),
                )
            continue
        _, time_limit, cutoff = msg
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("objective_bound", float(cutoff))
        h.run()
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2
        reply = {
            "status": h.getModelStatus().name,
            "iterations": int(info.simplex_iteration_count),
            "dual": float(info.mip_dual_bound),
            "has_solution": has_solution,
            "x": np.asarray(h.getSolution().col_value) if has_solution else None,
        }
        pickle.dump(reply, replies)
        replies.flush()


if __name__ == "__main__":
    main()
