from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tasksapp", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=50)),
            ],
        ),
    ]
