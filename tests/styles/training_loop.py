"""accuracy in the output's dtype; fit with sub_, p.grad.zero_() and float()."""

import torch


def accuracy(out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    return (out.argmax(-1) == yb).to(out.dtype).mean()


def fit(model, loss_func, x, y, lr=0.5, epochs=3, bs=50):  # noqa: ANN001, ANN201
    history = []
    n = len(x)
    for _epoch in range(epochs):
        start = 0
        while start < n:
            xb, yb = x[start : min(start + bs, n)], y[start : min(start + bs, n)]
            preds = model(xb)
            loss = loss_func(preds, yb)
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p.sub_(p.grad * lr)
                    p.grad.zero_()
            start += bs
        history.append((float(loss), float(accuracy(preds, yb))))
    return history
