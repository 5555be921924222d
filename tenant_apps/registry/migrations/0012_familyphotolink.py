import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0011_student_photo'),
    ]

    operations = [
        migrations.CreateModel(
            name='FamilyPhotoLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=64, unique=True)),
                ('created_by', models.CharField(max_length=150, verbose_name='生成人')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField(verbose_name='有效期至')),
                ('used_at', models.DateTimeField(blank=True, null=True, verbose_name='使用时间')),
                ('student', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='photo_links', to='registry.student', verbose_name='学生')),
            ],
            options={
                'verbose_name': '家长上传照片链接',
                'verbose_name_plural': '家长上传照片链接',
                'ordering': ['-created_at'],
            },
        ),
    ]
