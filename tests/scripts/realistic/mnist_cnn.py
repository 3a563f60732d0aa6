"""A CNN on MNIST-sized images (28x28, 10 classes) in the style of PyTorch's MNIST example: two
convolutions, dropout, log_softmax + nll_loss, Adadelta, a StepLR per epoch, a test pass per epoch.
The images are sklearn's 8x8 digits upsampled with noise (nothing is downloaded)."""
import argparse

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--train-size", type=int, default=12000)
args = parser.parse_args()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def images(count, generator):
    digits, labels = load_digits(return_X_y=True)
    pick = torch.randint(0, len(labels), (count,), generator=generator)
    small = torch.tensor(digits, dtype=torch.float32)[pick].view(-1, 1, 8, 8) / 16.0
    big = F.interpolate(small, size=(28, 28), mode="bilinear", align_corners=False)
    big = (big + 0.1 * torch.randn(big.shape, generator=generator)).clamp(0, 1)
    return (big - 0.1307) / 0.3081, torch.tensor(labels)[pick]


def train(model, loader, optimizer, epoch):
    model.train()
    for batch, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch % 50 == 0:
            print(f"Train Epoch: {epoch} [{batch * len(data)}/{len(loader.dataset)}]\tLoss: {loss.item():.6f}")


def test(model, loader):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            loss += F.nll_loss(output, target, reduction="sum").item()
            correct += (output.argmax(1) == target).sum().item()
    print(f"Test set: Average loss: {loss / len(loader.dataset):.4f}, Accuracy: {correct}/{len(loader.dataset)}")


torch.manual_seed(1)
generator = torch.Generator().manual_seed(0)
train_x, train_y = images(args.train_size, generator)
test_x, test_y = images(2000, generator)
train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
test_loader = DataLoader(TensorDataset(test_x, test_y), batch_size=1000)
model = Net()
optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
for epoch in range(1, args.epochs + 1):
    train(model, train_loader, optimizer, epoch)
    test(model, test_loader)
    scheduler.step()
