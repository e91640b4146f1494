"""edgeopt: plan DNN-model maintenance on 5G edge resources.

scenario → compile → core problem → solver → evaluator → solution.
"""

__version__ = "0.1.0"
