"""The learned planner's inference in NumPy, below the solvers: what the policy observes
(:mod:`.features`), its network (:mod:`.network`), checkpoints (:mod:`.checkpoint`) and
decoding (:mod:`.decode`). Training (TensorFlow, Gymnasium) is :mod:`edgeopt.rl`, above."""
