"""Measured DNN cost catalog: Keras model zoo, host measurements, device profiles, reports.

Import-light on purpose: TensorFlow is imported only inside the functions that need it.
Entry points: ``edgeopt.profiling.run.profile_catalog``,
``edgeopt.profiling.devices.build_devices``, ``edgeopt.profiling.report.write_catalog_report``;
``edgeopt.profiling.catalog`` and ``.devices`` extend the one catalog and devices validator
(``edgeopt.scenario.schema``) with what a measured file must also record.
"""

__all__: list[str] = []
