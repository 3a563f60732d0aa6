import torch

print("<script>alert(1)</script> <b>bold</b> | pipe & `tick` ```fence``` [link](http://x)")
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for _ in range(20):
    optimizer.zero_grad()
    model(torch.randn(8, 4)).pow(2).mean().backward()
    optimizer.step()
raise RuntimeError("<img src=x onerror=alert(2)> went wrong")
