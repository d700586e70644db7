"""Run generated code (src/codegen) on the cases of a JSON file; print their outputs as JSON.

Each case: {"target": "numpy" | "pytorch", "code": str, "sizes": {...}, "inputs": [[shape, flat]],
"params": {name: flat}, "grad": bool}. For a pytorch case with "grad", the first output must be a
scalar; the gradients of it with respect to every input and every parameter are returned too.
"""
import json
import sys

import numpy as np
import torch

torch.set_num_threads(1)


def run(case):
    ns = {}
    exec(compile(case["code"], "<generated>", "exec"), ns)
    inputs = [np.asarray(flat, dtype=np.float64).reshape(shape) for shape, flat in case["inputs"]]
    if case["target"] == "numpy":
        params = {}
        for name, (shape, flat) in case["params"].items():
            params[name] = np.asarray(flat, dtype=np.float64).reshape(shape)
        outs = ns["forward"](tuple(inputs), params, case["sizes"])
        return {"outputs": [np.asarray(o, dtype=np.float64).reshape(-1).tolist() for o in outs]}
    model = ns["Model"](case["sizes"])
    model.load_params({k: v[1] for k, v in case["params"].items()})
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=case.get("grad", False)) for x in inputs]
    outs = model(*xs)
    result = {
        "outputs": [o.detach().reshape(-1).tolist() for o in outs],
        "count": sum(p.numel() for p in model.parameters()),
    }
    if case.get("grad", False):
        names = list(model.params.keys())
        wrt = xs + [model.params[k] for k in names]
        grads = torch.autograd.grad(outs[0], wrt, allow_unused=True)
        flat = [torch.zeros_like(w).reshape(-1).tolist() if g is None else g.reshape(-1).tolist() for w, g in zip(wrt, grads)]
        result["inputGrads"] = flat[: len(xs)]
        result["paramGrads"] = {k.replace("__", "."): flat[len(xs) + i] for i, k in enumerate(names)}
    return result


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = []
    for case in cases:
        try:
            results.append(run(case))
        except Exception as e:  # reported per case, so one failure names its term
            results.append({"error": "%s: %s" % (type(e).__name__, e)})
    json.dump(results, sys.stdout)


main()
