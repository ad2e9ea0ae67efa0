"""The digits MLP of examples/train_digits.json, written in Python as a Keras user would.

    python examples/train_digits.py

Loads the shipped 8x8 digits, holds out a stratified 20% test set, trains
Input 64 -> Dense 128 relu -> Dense 64 relu -> Dense 10 softmax with Adam for 20 epochs
(10% of the training part for validation, Keras' progress bar), evaluates it on the test
set, and writes the weights and the history under examples/trained/. The seeds make it
reproducible bit for bit; the graph example gives the same numbers.
"""

from pathlib import Path

from haibal_py import callbacks, datasets, layers, models, optimizers
from haibal_py.numeric.seeding import seeded

OUT = Path(__file__).resolve().parent / "trained"

x, y = datasets.load_digits()
x = x / 16.0                                           # pixel counts 0..16 -> [0, 1]
x_train, x_test, y_train, y_test = datasets.train_test_split(x, y, test_size=0.2, seed=0, stratify=y)

with seeded(0):                                        # the Model node's seed: the same first weights
    model = models.Sequential([
        layers.Input((64,), name="pixels"),
        layers.Dense(128, activation="relu", name="hidden1"),
        layers.Dense(64, activation="relu", name="hidden2"),
        layers.Dense(10, activation="softmax", name="classifier"),
    ], name="digits_mlp")
model.summary()

model.compile(optimizer=optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
OUT.mkdir(exist_ok=True)
with seeded(0):                                        # the Fit node's seed: shuffling and dropout
    history = model.fit(x_train, y_train, batch_size=32, epochs=20, validation_split=0.1,
                        callbacks=[callbacks.CSVLogger(OUT / "digits_mlp_history.csv")], verbose=2)

loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
model.save_weights(OUT / "digits_mlp.weights.npz")
print(f"test accuracy {accuracy:.4f}  test loss {loss:.4f}  "
      f"(best validation accuracy {max(history.history['val_accuracy']):.4f})")
