"""`make bench`: the platform's speed and costs, against baselines measured in the same run."""
