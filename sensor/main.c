/* otasuke-sensor: placeholder until the pipeline lands (being written now). */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "otasuke-sensor: not yet built\n");
    return 1;
}
