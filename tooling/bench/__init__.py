"""`make bench`: the platform's speed and costs, measured against baselines started in the same run."""
