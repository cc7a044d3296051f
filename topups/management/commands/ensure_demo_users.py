"""Create the demo logins on a fresh database (no users yet), and print them on every start."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

DEMO_USERS = [
    # username, password, group, is_staff (admin access)
    ("supervisor", "supervisor-demo", "Supervisors", True),
    ("operator", "operator-demo", "Operators", False),
]


class Command(BaseCommand):
    help = "Create demo Supervisor and Operator logins when the database has no users."

    def handle(self, *args, **options):
        User = get_user_model()
        if not User.objects.exists():
            for username, password, group, is_staff in DEMO_USERS:
                user = User.objects.create_user(username, password=password, is_staff=is_staff)
                user.groups.add(Group.objects.get(name=group))
        demo = [u for u in DEMO_USERS if User.objects.filter(username=u[0]).exists()]
        if not demo:
            return
        self.stdout.write("Demo logins (created on a fresh database; change them before real use):")
        for username, password, group, _staff in demo:
            user = User.objects.get(username=username)
            if user.check_password(password):
                self.stdout.write(f"  {group[:-1]:<11} {username} / {password}")
        if settings.ONECLICKDZ_API_URL.startswith("http://127.0.0.1"):
            self.stdout.write("The app talks to the bundled simulator (see README: simulator outcome rules).")
