/* `otasuke intel update` (center/cli/intel_update.c). */
#ifndef OTASUKE_CLI_INTEL_UPDATE_H
#define OTASUKE_CLI_INTEL_UPDATE_H

/* argv[0] is "update"; returns the process exit code (0, 1: a list failed, 2: usage). */
int intel_update_main(int argc, char **argv);

#endif
