"""Measured DNN cost catalog: Keras model zoo, host measurements, device profiles, reports.

Import-light on purpose: TensorFlow is imported only inside the functions that need it.
Entry points: ``edgeopt.profiling.run.profile_catalog`` / ``load_catalog``,
``edgeopt.profiling.devices.build_devices`` / ``load_devices``,
``edgeopt.profiling.report.write_catalog_report``.
"""

__all__: list[str] = []
