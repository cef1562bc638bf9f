"""Training SAM, Qt-free. Here: what every run shares (simulated prompts, the interactive session and its losses,
the learning-rate schedule); `finetune/`: MoPEFT fine-tuning on a project's accepted instances (the window and
`mopeft train`); `pretrain/`: the demo SAM's pretraining from scratch on synthetic scenes (`mopeft pretrain-demo`)."""
