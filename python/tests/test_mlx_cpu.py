"""MLX itself works on this machine's CPU: the ground the training and serving tests stand on."""

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim


def test_matmul_on_cpu_matches_numpy_reference():
    mx.set_default_device(mx.cpu)
    a = mx.arange(12, dtype=mx.float32).reshape(3, 4)
    b = mx.arange(8, dtype=mx.float32).reshape(4, 2)
    c = a @ b
    assert c.tolist() == [[28.0, 34.0], [76.0, 98.0], [124.0, 162.0]]


def test_a_gradient_step_reduces_the_loss():
    mx.set_default_device(mx.cpu)
    mx.random.seed(0)
    model = nn.Linear(4, 1)
    x = mx.random.normal((32, 4))
    y = x @ mx.array([[1.0], [-2.0], [0.5], [3.0]])

    def loss_fn(m):
        return ((m(x) - y) ** 2).mean()

    loss_and_grad = nn.value_and_grad(model, loss_fn)
    opt = optim.SGD(learning_rate=0.1)
    first, grads = loss_and_grad(model)
    opt.update(model, grads)
    mx.eval(model.parameters())
    second, _ = loss_and_grad(model)
    assert second.item() < first.item()
