"""Training pieces shared by the demo pretraining and the in-app trainer: prompt simulation and losses."""
