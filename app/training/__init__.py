"""Training SAM, Qt-free. Here: what every run shares (simulated prompts, the interactive session and its losses,
the learning-rate schedule) and, behind `family.py`, what differs between SAM 1 and SAM 2.1; `finetune/`: MoPEFT
fine-tuning on a project's accepted instances (the window and `mopeft train`); `pretrain/`: the demo SAM's
pretraining from scratch on synthetic scenes (`mopeft pretrain-demo`)."""
