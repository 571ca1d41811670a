"""ft-lab-reft: LoReFT interventions as an ft-lab tuning method (entry point ``reft``)."""
__version__ = "0.1.0"
