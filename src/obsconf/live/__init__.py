"""The live side of a contract run: the workload sent, every backend read (collect), the `Probe` the cases
ask (probe), the seed instance (seedruns) and alert drives (alertdrives). Only this stage, the launchers
and the readers talk to the network."""
