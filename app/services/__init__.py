"""Qt-free services for the model and for training runs: what the window, the CLI and every later caller (workers,
automatic proposals) use instead of deciding about models and runs themselves. `model_session`: the base model,
the adapter version in use, the engine running them, and the check that an image file is still the annotated one;
`training_run`: a fine-tuning run's life (begin, run with events, finish and record, fail); `proposing`: automatic
proposals on a project's images, stored as their pending ones."""
